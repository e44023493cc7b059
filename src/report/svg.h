/*
 * svg.h — the report's drawing: text escaping for HTML/SVG, numbers
 * written the same whatever the locale, and a few SVG primitives (a plot
 * box with labelled axes, rectangles, lines, polylines, text, a
 * sequential colour scale and the colour-blind-safe palette of Okabe and
 * Ito).  Everything appends to an lf_buf; nothing here allocates besides
 * the buffer, and no function reads global state.
 */
#ifndef LF_SVG_H
#define LF_SVG_H

#include "io/json.h"

/* Okabe-Ito colours for series 0..7 (black last). */
const char *lf_svg_colour(size_t i);

/* s as HTML text or attribute value: & < > " ' as entities, control
 * characters (and DEL), each byte that is not part of valid UTF-8 (a
 * title or a path in another encoding: the page stays UTF-8) and the
 * bidirectional embeddings, overrides and isolates (U+202A-U+202E,
 * U+2066-U+2069, which would reorder the text that follows) as U+FFFD, at
 * most max_chars code points (then "…"; 0: no limit).  NULL writes
 * nothing. */
void lf_html_text(lf_buf *b, const char *s, size_t max_chars);

/* A number with `decimals` digits after '.', any locale (lf_fmt_fixed). */
void lf_svg_num(lf_buf *b, double v, int decimals);

/* <svg> of w x h px with a title (escaped) read by screen readers;
 * `cls` (trusted) is its class. */
void lf_svg_open(lf_buf *b, double w, double h, const char *cls, const char *title);
void lf_svg_close(lf_buf *b);

/* Text at (x, y): anchor "start", "middle" or "end"; rotated by `rotate`
 * degrees about (x, y) unless 0; `cls` trusted, s escaped, shortened to
 * max_chars (0: whole). */
void lf_svg_text(lf_buf *b, double x, double y, const char *anchor, const char *cls, double rotate,
                 const char *s, size_t max_chars);
/* A rectangle; `fill` and `extra` (more attributes, or NULL) are trusted. */
void lf_svg_rect(lf_buf *b, double x, double y, double w, double h, const char *fill, const char *extra);
void lf_svg_line(lf_buf *b, double x1, double y1, double x2, double y2, const char *cls);

/* A plot box: its place on the canvas (px) and the data ranges it shows. */
typedef struct lf_plot {
    double left, top, width, height;
    double x0, x1, y0, y1;
} lf_plot;

double lf_plot_x(const lf_plot *p, double v);
double lf_plot_y(const lf_plot *p, double v);
/* The frame, `nx` + 1 and `ny` + 1 (none for ny 0) evenly spaced ticks with their values
 * (decimals as given) and grid lines, and the axis labels (escaped). */
void lf_svg_axes(lf_buf *b, const lf_plot *p, int nx, int ny, int dx, int dy, const char *xlabel,
                 const char *ylabel);
/* The points (x[i], y[i]) joined, NaN points skipped (the line breaks);
 * `stroke` trusted, dashed when `dash`. */
void lf_svg_polyline(lf_buf *b, const lf_plot *p, const double *x, const double *y, size_t n, const char *stroke,
                     int dash);

/* A sequential colour for v in [0, 1] (white to dark blue), "#rrggbb",
 * and whether text on it should be white. */
void lf_svg_heat(double v, char out[8], int *dark);

#endif
