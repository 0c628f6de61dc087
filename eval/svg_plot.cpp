#include "eval/svg_plot.h"
