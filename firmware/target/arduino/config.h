// Target-check only: src/config.h holds a reader's secrets and is not in git; the
// check compiles with the example values.
#include "../../src/config.example.h"
