/* The task C API as an application embeds it (run from the source root by ctest): classify,
 * detect and text classification on the shipped models, argument checks, and the sidecar
 * JSON reader. Expected numbers come from the reference checks in tests/tasks_test.sh
 * (ONNX Runtime and tools/wordpiece_ref.py). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "edgerun_tasks.h"
#include "tasks/task_common.h"
#include "check.h"

#define M "models/tasks/"

static void test_classify(void)
{
    er_msg msg;
    er_vision_options o;
    er_vision_options_init(&o);
    int found = 0;
    CHECK(er_vision_options_load_sidecar(M "digits_cls.onnx", &o, &found, &msg) == ER_OK, "%s", msg.text);
    CHECK(found && o.width == 32 && o.height == 32 && fabsf(o.std[1] - 0.25f) < 1e-6f, "sidecar not applied");
    er_classifier *c = NULL;
    if (er_classify_create(M "digits_cls.onnx", &o, &c, &msg) != ER_OK) {
        CHECK(0, "create: %s", msg.text);
        return;
    }
    for (int k = 0; k < 10; k += 3) {
        char path[128];
        snprintf(path, sizeof(path), M "samples/digit_%d.png", k);
        er_image img;
        CHECK(er_image_load(path, &img, &msg) == ER_OK, "%s", msg.text);
        er_class_score top[3];
        int n = 0;
        CHECK(er_classify_run(c, &img, 3, top, &n) == ER_OK, "%s", er_classify_error(c));
        char want[16];
        snprintf(want, sizeof(want), "digit %d", k);
        CHECK(n == 3 && top[0].index == k && top[0].label && strcmp(top[0].label, want) == 0 &&
                  top[0].prob >= top[1].prob && top[1].prob >= top[2].prob,
              "digit %d classified as %d", k, top[0].index);
        er_image_free(&img);
    }
    er_class_score s;
    int n;
    CHECK(er_classify_run(c, NULL, 1, &s, &n) == ER_ERR_INVALID_ARG, "NULL image accepted");
    CHECK(strstr(er_classify_error(c), "image") != NULL, "message: %s", er_classify_error(c));
    er_classify_free(c);
    CHECK(er_classify_create(M "nope.onnx", &o, &c, NULL) == ER_ERR_IO && c == NULL, "missing model");
}

static void test_detect(void)
{
    er_msg msg;
    er_detect_options o;
    er_detect_options_init(&o);
    CHECK(er_vision_options_load_sidecar(M "digits_det_v8.onnx", &o.vision, NULL, &msg) == ER_OK, "%s", msg.text);
    er_detector *d = NULL;
    if (er_detect_create(M "digits_det_v8.onnx", &o, &d, &msg) != ER_OK) {
        CHECK(0, "create: %s", msg.text);
        return;
    }
    er_image img;
    CHECK(er_image_load(M "samples/digits_scene.png", &img, &msg) == ER_OK, "%s", msg.text);
    er_detect_result r;
    CHECK(er_detect_run(d, &img, &r) == ER_OK, "%s", er_detect_error(d));
    /* The scene holds a 6, a 3, a 5 and a 2 (tools/train_task_models.py, seed 2024). */
    int seen = 0;
    for (int i = 0; i < r.count; i++) {
        const er_detection *e = &r.items[i];
        CHECK(e->x0 >= 0 && e->y0 >= 0 && e->x1 <= img.width && e->y1 <= img.height && e->x1 > e->x0 && e->y1 > e->y0,
              "box %d outside the image", i);
        CHECK(i == 0 || r.items[i - 1].score >= e->score, "boxes not sorted by score");
        if (e->score > 0.5f) seen |= 1 << e->class_id;
    }
    CHECK(seen == ((1 << 6) | (1 << 3) | (1 << 5) | (1 << 2)), "classes found: mask 0x%x", seen);
    er_detect_draw(&img, &r);
    er_detect_result_free(&r);
    er_image_free(&img);
    er_detect_free(d);
    o.iou = 2;
    CHECK(er_detect_create(M "digits_det_v8.onnx", &o, &d, &msg) == ER_ERR_INVALID_ARG, "iou 2 accepted");
}

static void test_text(void)
{
    er_msg msg;
    er_text_options o;
    er_text_options_init(&o);
    CHECK(er_text_options_load_sidecar(M "sentiment.onnx", &o, NULL, &msg) == ER_OK, "%s", msg.text);
    CHECK(o.max_length == 64 && o.lowercase == 1, "sidecar not applied");
    er_text_classifier *tc = NULL;
    if (er_text_classify_create(M "sentiment.onnx", &o, &tc, &msg) != ER_OK) {
        CHECK(0, "create: %s", msg.text);
        return;
    }
    int32_t ids[8];
    int n = 0;
    CHECK(er_text_classify_tokenize(tc, "Great!", ids, 8, &n) == ER_OK && n == 4, "tokens: %d", n);
    er_text_result r;
    CHECK(er_text_classify_run(tc, "Excellent product, works great and I love it.", &r) == ER_OK, "%s",
          er_text_classify_error(tc));
    CHECK(r.label && strcmp(r.label, "positive") == 0 && r.n_classes == 2 &&
              fabsf(r.probs[0] + r.probs[1] - 1) < 1e-5f, "positive review: %s %.3f", r.label ? r.label : "-", r.prob);
    er_text_classify_free(tc);
    er_text_options_init(&o);
    CHECK(er_text_classify_create(M "sentiment.onnx", &o, &tc, &msg) == ER_ERR_INVALID_ARG && strstr(msg.text, "vocabulary"),
          "no vocabulary: %s", msg.text);
}

static void test_sidecar_parse(void)
{
    static er_sidecar sc;
    char err[256];
    CHECK(er_sidecar_parse("{\"size\": [224, 160], \"bgr\": true, \"labels\": \"a\\/b.txt\"}", &sc, err, sizeof(err)) == ER_OK,
          "%s", err);
    const er_json_value *v = er_sidecar_get(&sc, "size");
    CHECK(v && v->kind == ER_JSON_ARRAY && v->n_items == 2 && v->num[1] == 160, "size");
    v = er_sidecar_get(&sc, "labels");
    CHECK(v && v->kind == ER_JSON_STR && strcmp(v->str, "a/b.txt") == 0, "labels");
    v = er_sidecar_get(&sc, "bgr");
    CHECK(v && v->kind == ER_JSON_BOOL && v->num[0] == 1, "bgr");
    static const char *bad[] = {"", "[1]", "{\"a\": }", "{\"a\": 1", "{\"a\": 1} x", "{\"a\": [1, 2,]}",
                                "{\"a\": \"\\u0041\"}", "{\"a\": {\"b\": 1}}", "{\"a\": nan}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(er_sidecar_parse(bad[i], &sc, err, sizeof(err)) == ER_ERR_FORMAT, "accepted '%s'", bad[i]);
}

int main(void)
{
    test_sidecar_parse();
    test_classify();
    test_detect();
    test_text();
    printf("test_tasks_api: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
