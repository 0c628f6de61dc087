// eval/svg_plot.h — placeholder header; the plotting module is written next.
#pragma once
