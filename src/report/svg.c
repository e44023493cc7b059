/*
 * svg.c — the report's drawing primitives (svg.h): escaping, numbers that
 * ignore the locale, SVG elements and labelled axes.  Coordinates are
 * written with two decimals.
 */
#include "report/svg.h"
#include "report/report.h"

#include <math.h>
#include <string.h>

const char *lf_svg_colour(size_t i) {
    static const char *const okabe_ito[8] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                             "#CC79A7", "#56B4E9", "#F0E442", "#000000"};
    return okabe_ito[i % 8];
}

/* U+202A-U+202E (embeddings, overrides, their end) and U+2066-U+2069
 * (isolates): a user's string that opens one would turn the text after
 * it around, up to the end of the paragraph (the command's other words) */
static int bidi_control(const unsigned char *c) {
    return c[0] == 0xE2 && ((c[1] == 0x80 && c[2] >= 0xAA && c[2] <= 0xAE) || (c[1] == 0x81 && c[2] >= 0xA6 && c[2] <= 0xA9));
}

void lf_html_text(lf_buf *b, const char *s, size_t max_chars) {
    if (!s) return;
    size_t chars = 0, k;
    for (const unsigned char *c = (const unsigned char *)s; *c; c += k) {
        if (max_chars && chars++ == max_chars) {
            lf_buf_puts(b, "\xE2\x80\xA6"); /* … */
            return;
        }
        k = lf_utf8_len((const char *)c, 4); /* (stops at the NUL) */
        /* a byte that is no character's (a title or a path in another
         * encoding; the page is UTF-8), or a bidi control */
        if (!k || bidi_control(c)) {
            lf_buf_puts(b, "&#xFFFD;");
            k = k ? k : 1;
            continue;
        }
        if (k > 1) {
            lf_buf_append(b, c, k);
            continue;
        }
        switch (*c) {
        case '&': lf_buf_puts(b, "&amp;"); break;
        case '<': lf_buf_puts(b, "&lt;"); break;
        case '>': lf_buf_puts(b, "&gt;"); break;
        case '"': lf_buf_puts(b, "&quot;"); break;
        case '\'': lf_buf_puts(b, "&#39;"); break;
        default:
            if (*c < 0x20 || *c == 0x7f) lf_buf_puts(b, "&#xFFFD;");
            else lf_buf_append(b, c, 1);
        }
    }
}

void lf_svg_num(lf_buf *b, double v, int decimals) {
    char buf[32];
    lf_buf_puts(b, lf_fmt_fixed(buf, v, decimals));
}

void lf_svg_open(lf_buf *b, double w, double h, const char *cls, const char *title) {
    lf_buf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"");
    lf_buf_puts(b, cls);
    lf_buf_puts(b, "\" width=\"");
    lf_svg_num(b, w, 0);
    lf_buf_puts(b, "\" height=\"");
    lf_svg_num(b, h, 0);
    lf_buf_puts(b, "\" viewBox=\"0 0 ");
    lf_svg_num(b, w, 0);
    lf_buf_puts(b, " ");
    lf_svg_num(b, h, 0);
    lf_buf_puts(b, "\" role=\"img\"><title>");
    lf_html_text(b, title, 200);
    lf_buf_puts(b, "</title>\n");
}

void lf_svg_close(lf_buf *b) { lf_buf_puts(b, "</svg>\n"); }

static void attr(lf_buf *b, const char *name, double v) {
    lf_buf_printf(b, " %s=\"", name);
    lf_svg_num(b, v, 2);
    lf_buf_puts(b, "\"");
}

void lf_svg_text(lf_buf *b, double x, double y, const char *anchor, const char *cls, double rotate,
                 const char *s, size_t max_chars) {
    lf_buf_puts(b, "<text");
    attr(b, "x", x);
    attr(b, "y", y);
    lf_buf_printf(b, " text-anchor=\"%s\"", anchor);
    if (cls) lf_buf_printf(b, " class=\"%s\"", cls);
    if (rotate != 0) {
        lf_buf_puts(b, " transform=\"rotate(");
        lf_svg_num(b, rotate, 0);
        lf_buf_puts(b, " ");
        lf_svg_num(b, x, 2);
        lf_buf_puts(b, " ");
        lf_svg_num(b, y, 2);
        lf_buf_puts(b, ")\"");
    }
    lf_buf_puts(b, ">");
    lf_html_text(b, s, max_chars);
    lf_buf_puts(b, "</text>\n");
}

void lf_svg_rect(lf_buf *b, double x, double y, double w, double h, const char *fill, const char *extra) {
    lf_buf_puts(b, "<rect");
    attr(b, "x", x);
    attr(b, "y", y);
    attr(b, "width", w);
    attr(b, "height", h);
    if (fill) lf_buf_printf(b, " fill=\"%s\"", fill);
    if (extra) lf_buf_printf(b, " %s", extra);
    lf_buf_puts(b, "/>\n");
}

void lf_svg_line(lf_buf *b, double x1, double y1, double x2, double y2, const char *cls) {
    lf_buf_puts(b, "<line");
    attr(b, "x1", x1);
    attr(b, "y1", y1);
    attr(b, "x2", x2);
    attr(b, "y2", y2);
    if (cls) lf_buf_printf(b, " class=\"%s\"", cls);
    lf_buf_puts(b, "/>\n");
}

double lf_plot_x(const lf_plot *p, double v) {
    double span = p->x1 - p->x0;
    return p->left + (span > 0 ? (v - p->x0) / span : 0.5) * p->width;
}

double lf_plot_y(const lf_plot *p, double v) {
    double span = p->y1 - p->y0;
    return p->top + p->height - (span > 0 ? (v - p->y0) / span : 0.5) * p->height;
}

void lf_svg_axes(lf_buf *b, const lf_plot *p, int nx, int ny, int dx, int dy, const char *xlabel,
                 const char *ylabel) {
    char num[32];
    for (int i = 0; ny > 0 && i <= ny; i++) {
        double v = p->y0 + (p->y1 - p->y0) * i / (ny ? ny : 1), y = lf_plot_y(p, v);
        lf_svg_line(b, p->left, y, p->left + p->width, y, "grid");
        lf_svg_text(b, p->left - 5, y + 4, "end", "tick", 0, lf_fmt_fixed(num, v, dy), 0);
    }
    for (int i = 0; i <= nx; i++) {
        double v = p->x0 + (p->x1 - p->x0) * i / (nx ? nx : 1), x = lf_plot_x(p, v);
        lf_svg_line(b, x, p->top + p->height, x, p->top + p->height + 4, "axis");
        lf_svg_text(b, x, p->top + p->height + 16, "middle", "tick", 0, lf_fmt_fixed(num, v, dx), 0);
    }
    lf_svg_rect(b, p->left, p->top, p->width, p->height, "none", "class=\"frame\"");
    if (xlabel) lf_svg_text(b, p->left + p->width / 2, p->top + p->height + 34, "middle", "label", 0, xlabel, 60);
    if (ylabel) lf_svg_text(b, p->left - 40, p->top + p->height / 2, "middle", "label", -90, ylabel, 40);
}

void lf_svg_polyline(lf_buf *b, const lf_plot *p, const double *x, const double *y, size_t n, const char *stroke,
                     int dash) {
    size_t i = 0;
    while (i < n) {
        while (i < n && (isnan(x[i]) || isnan(y[i]))) i++;
        if (i >= n) break;
        lf_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", stroke,
                      dash ? " stroke-dasharray=\"6 4\"" : "");
        for (int first = 1; i < n && !isnan(x[i]) && !isnan(y[i]); i++, first = 0) {
            if (!first) lf_buf_puts(b, " ");
            lf_svg_num(b, lf_plot_x(p, x[i]), 2);
            lf_buf_puts(b, ",");
            lf_svg_num(b, lf_plot_y(p, y[i]), 2);
        }
        lf_buf_puts(b, "\"/>\n");
    }
}

void lf_svg_heat(double v, char out[8], int *dark) {
    if (!(v >= 0)) v = 0;
    if (v > 1) v = 1;
    /* white (255,255,255) to Okabe-Ito blue (0,114,178), then darker */
    double r = 255 * (1 - v), g = 255 - (255 - 94) * v, bl = 255 - (255 - 150) * v;
    snprintf(out, 8, "#%02x%02x%02x", (unsigned)lround(r), (unsigned)lround(g), (unsigned)lround(bl));
    if (dark) *dark = v > 0.55;
}
