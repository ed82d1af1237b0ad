#include <stdio.h>
#include "edgerun.h"
int main(void) { printf("%s\n", ER_VERSION_STRING); return 0; }
