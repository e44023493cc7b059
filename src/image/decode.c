/*
 * decode.c — PNG and JPEG decoding from memory through libpng and
 * libjpeg(-turbo), when the build found them (LF_HAVE_PNG, LF_HAVE_JPEG:
 * see the Makefile), and the bilinear resize of tf.image.resize (half-pixel
 * centres, no antialiasing) to the caller's size.  latefuse.h documents the
 * conversions and limits.
 *
 * Both libraries report errors through callbacks that must not return:
 * ours copy the message and longjmp back to the decode function, which
 * frees what it allocated and returns LF_ERR_FORMAT.  Their warnings print
 * nothing; libjpeg's warnings about damaged data (e.g. a truncated file,
 * which it would otherwise fill with grey) are errors here.  The image's
 * size is checked against LF_IMAGE_MAX_SIDE / LF_IMAGE_MAX_PIXELS right
 * after the header, before any pixel buffer exists.
 */
#include "internal.h"
#include "io/file.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#ifdef LF_HAVE_PNG
#include <png.h>
#endif
#ifdef LF_HAVE_JPEG
#include <jerror.h>
#include <jpeglib.h>
#endif

int lf_image_formats(void) {
    int f = 0;
#ifdef LF_HAVE_PNG
    f |= LF_IMAGE_PNG;
#endif
#ifdef LF_HAVE_JPEG
    f |= LF_IMAGE_JPEG;
#endif
    return f;
}

/* A decoded image at its own size: h x w x 3 bytes (LF_MALLOC). */
typedef struct raw_image {
    unsigned char *px;
    size_t h, w;
} raw_image;

#if defined(LF_HAVE_PNG) || defined(LF_HAVE_JPEG)
static lf_status check_size(const char *fmt, size_t w, size_t h, lf_err *e) {
    if (w == 0 || h == 0) return lf_fail(e, LF_ERR_FORMAT, "the %s header gives an empty image (%zu x %zu)", fmt, w, h);
    if (w > LF_IMAGE_MAX_SIDE || h > LF_IMAGE_MAX_SIDE || (uint64_t)w * h > LF_IMAGE_MAX_PIXELS)
        return lf_fail(e, LF_ERR_FORMAT,
                       "the %s is %zu x %zu pixels (width x height), more than the limit of %u per side and %u in all",
                       fmt, w, h, LF_IMAGE_MAX_SIDE, LF_IMAGE_MAX_PIXELS);
    return LF_OK;
}
#endif

/* ----------------------------------------------------------------- PNG */
#ifdef LF_HAVE_PNG
typedef struct png_ctx {
    const unsigned char *data;
    size_t len, pos;
    char msg[256];
} png_ctx;

static void png_on_error(png_structp png, png_const_charp m) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", m);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp m) { (void)png, (void)m; }

static void png_on_read(png_structp png, png_bytep out, size_t n) {
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) png_error(png, "the data end early (a truncated file)");
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static lf_status decode_png(const unsigned char *data, size_t len, raw_image *img, lf_err *e) {
    png_ctx ctx;
    ctx.data = data, ctx.len = len, ctx.pos = 0, ctx.msg[0] = 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    }
    unsigned char *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    volatile lf_status early = LF_OK; /* a failure of ours after setjmp */
    if (setjmp(png_jmpbuf(png))) {
        LF_FREE(px), LF_FREE(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (early != LF_OK) return early;
        return lf_fail(e, LF_ERR_FORMAT, "corrupt or truncated PNG: %s", ctx.msg);
    }
    /* our own limit is checked below, with our message */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_read_fn(png, &ctx, png_on_read);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
    if ((early = check_size("PNG", w, h, e)) != LF_OK) png_longjmp(png, 1);
    /* as TensorFlow's png::CommonInitDecode for 3 channels of 8 bits: the
     * alpha channel or a tRNS chunk (which palette expansion would turn
     * into alpha) stripped, and 16-bit samples cut to their high byte
     * (png_set_strip_16, not the rounding png_set_scale_16) */
    if ((ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    if (depth == 16) png_set_strip_16(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected row size after conversion to RGB");
    px = LF_MALLOC((size_t)w * h * 3);
    rows = LF_MALLOC((size_t)h * sizeof(png_bytep));
    if (!px || !rows) {
        early = lf_fail(e, LF_ERR_NOMEM, "out of memory for a %u x %u image", (unsigned)w, (unsigned)h);
        png_longjmp(png, 1);
    }
    for (size_t i = 0; i < h; i++) rows[i] = px + i * (size_t)w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    LF_FREE(rows);
    img->px = px, img->w = w, img->h = h;
    return LF_OK;
}
#endif

/* ---------------------------------------------------------------- JPEG */
#ifdef LF_HAVE_JPEG
#define JPEG_MAX_SCANS 256 /* a progressive file may have ~10; thousands only slow decoding down */

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* first: libjpeg hands out a pointer to it */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_ctx;

static void jpeg_on_error(j_common_ptr c) {
    jpeg_ctx *x = (jpeg_ctx *)(void *)c->err;
    c->err->format_message(c, x->msg);
    longjmp(x->jb, 1);
}

/* Trace messages (level >= 0) are dropped; warnings are damaged data, hence
 * errors, except those about harmless oddities of otherwise whole files. */
static void jpeg_on_message(j_common_ptr c, int level) {
    if (level >= 0) return;
    int code = c->err->msg_code;
    if (code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM ||
        code == JWRN_TOO_MUCH_DATA)
        return;
    jpeg_on_error(c);
}

static void jpeg_on_output(j_common_ptr c) { (void)c; }

static void jpeg_on_progress(j_common_ptr c) {
    j_decompress_ptr d = (j_decompress_ptr)(void *)c;
    if (c->is_decompressor && d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_ctx *x = (jpeg_ctx *)(void *)c->err;
        snprintf(x->msg, sizeof x->msg, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(x->jb, 1);
    }
}

static lf_status decode_jpeg(const unsigned char *data, size_t len, raw_image *img, lf_err *e) {
    struct jpeg_decompress_struct d;
    struct jpeg_progress_mgr prog;
    jpeg_ctx x;
    memset(&d, 0, sizeof d);
    memset(&prog, 0, sizeof prog);
    unsigned char *volatile px = NULL;
    d.err = jpeg_std_error(&x.pub);
    x.pub.error_exit = jpeg_on_error;
    x.pub.emit_message = jpeg_on_message;
    x.pub.output_message = jpeg_on_output;
    x.msg[0] = 0;
    if (setjmp(x.jb)) {
        jpeg_destroy_decompress(&d);
        LF_FREE(px);
        return lf_fail(e, LF_ERR_FORMAT, "corrupt or truncated JPEG: %s", x.msg);
    }
    jpeg_create_decompress(&d);
    prog.progress_monitor = jpeg_on_progress;
    d.progress = &prog;
    jpeg_mem_src(&d, data, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    lf_status st = check_size("JPEG", d.image_width, d.image_height, e);
    if (st == LF_OK && (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK))
        st = lf_fail(e, LF_ERR_FORMAT, "a CMYK JPEG: only grey and colour (RGB/YCbCr) JPEGs are supported");
    if (st != LF_OK) {
        jpeg_destroy_decompress(&d);
        return st;
    }
    d.out_color_space = JCS_RGB;
    /* the inverse DCT of TensorFlow's DecodeImage op, which Keras'
     * image_dataset_from_directory decodes with (decode_image_op.cc:
     * "The TensorFlow-chosen default for JPEG decoding is IFAST"); libjpeg's
     * own default, JDCT_ISLOW, gives pixels a few levels apart */
    d.dct_method = JDCT_IFAST;
    jpeg_start_decompress(&d);
    const size_t w = d.output_width, h = d.output_height;
    if (d.output_components != 3 || w != d.image_width || h != d.image_height) {
        snprintf(x.msg, sizeof x.msg, "unexpected output of %d components", d.output_components);
        longjmp(x.jb, 1);
    }
    px = LF_MALLOC(w * h * 3);
    if (!px) {
        jpeg_destroy_decompress(&d);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory for a %zu x %zu image", w, h);
    }
    while (d.output_scanline < h) {
        JSAMPROW row = px + (size_t)d.output_scanline * w * 3;
        if (jpeg_read_scanlines(&d, &row, 1) != 1) {
            snprintf(x.msg, sizeof x.msg, "the decoder stopped at row %u", d.output_scanline);
            longjmp(x.jb, 1);
        }
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    img->px = px, img->w = w, img->h = h;
    return LF_OK;
}
#endif

/* -------------------------------------------------------------- resize */

/* tf.image.resize(method="bilinear", antialias=False) with half-pixel
 * centres, in float as TensorFlow computes it, then rounded to the nearest
 * integer: source coordinate in = (i + 0.5) * (in_size / out_size) - 0.5,
 * lower = max(floor(in), 0), upper = min(ceil(in), in_size - 1),
 * lerp = in - floor(in); top and bottom rows interpolated along x first. */
static void axis(size_t i, size_t in_size, float scale, size_t *lo, size_t *hi, float *lerp) {
    const float in = ((float)i + 0.5f) * scale - 0.5f;
    const float f = floorf(in);
    *lo = f > 0 ? (size_t)f : 0;
    const float c = ceilf(in);
    size_t u = c > 0 ? (size_t)c : 0;
    *hi = u < in_size - 1 ? u : in_size - 1;
    if (*lo > in_size - 1) *lo = in_size - 1;
    *lerp = in - f;
}

static void resize(const raw_image *src, size_t h, size_t w, uint8_t *out) {
    const float sy = (float)src->h / (float)h, sx = (float)src->w / (float)w;
    for (size_t y = 0; y < h; y++) {
        size_t y0, y1;
        float ly;
        axis(y, src->h, sy, &y0, &y1, &ly);
        const unsigned char *r0 = src->px + y0 * src->w * 3, *r1 = src->px + y1 * src->w * 3;
        for (size_t x = 0; x < w; x++) {
            size_t x0, x1;
            float lx;
            axis(x, src->w, sx, &x0, &x1, &lx);
            for (size_t k = 0; k < 3; k++) {
                const float tl = r0[x0 * 3 + k], tr = r0[x1 * 3 + k], bl = r1[x0 * 3 + k], br = r1[x1 * 3 + k];
                const float top = tl + (tr - tl) * lx, bottom = bl + (br - bl) * lx;
                float v = top + (bottom - top) * ly + 0.5f;
                v = v < 0 ? 0 : (v > 255 ? 255 : v);
                out[(y * w + x) * 3 + k] = (uint8_t)v;
            }
        }
    }
}

/* ---------------------------------------------------------------- entry */

static void copy_msg(char *msg, size_t msg_size, const char *text) {
    if (msg && msg_size) snprintf(msg, msg_size, "%s", text);
}

static lf_status decode(const unsigned char *p, size_t len, size_t height, size_t width, uint8_t *out,
                        lf_err *e) {
    if (!p && len) return lf_fail(e, LF_ERR_ARG, "no data given");
    if (!out) return lf_fail(e, LF_ERR_ARG, "no output array given");
    if (height < 1 || width < 1 || height > LF_IMAGE_MAX_SIDE || width > LF_IMAGE_MAX_SIDE)
        return lf_fail(e, LF_ERR_ARG, "the output size %zu x %zu (height x width) must be within 1..%u", height,
                       width, LF_IMAGE_MAX_SIDE);
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    const int is_png = len >= 8 && memcmp(p, png_sig, 8) == 0;
    const int is_jpeg = len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF;
    raw_image img = {NULL, 0, 0};
    lf_status st;
    if (is_png) {
#ifdef LF_HAVE_PNG
        st = decode_png(p, len, &img, e);
#else
        st = lf_fail(e, LF_ERR_STATE, "latefuse was built without libpng: install libpng-dev and rebuild");
#endif
    } else if (is_jpeg) {
#ifdef LF_HAVE_JPEG
        st = decode_jpeg(p, len, &img, e);
#else
        st = lf_fail(e, LF_ERR_STATE, "latefuse was built without libjpeg: install libjpeg62-turbo-dev and rebuild");
#endif
    } else if (len >= 4 && memcmp(p, "GIF8", 4) == 0) {
        st = lf_fail(e, LF_ERR_FORMAT, "a GIF image: only PNG and JPEG are supported");
    } else if (len >= 2 && p[0] == 'B' && p[1] == 'M') {
        st = lf_fail(e, LF_ERR_FORMAT, "a BMP image: only PNG and JPEG are supported");
    } else {
        st = lf_fail(e, LF_ERR_FORMAT, "not a PNG or JPEG image (%s)",
                     len < 3 ? "too short" : "its first bytes are neither signature");
    }
    if (st != LF_OK) return st;
    resize(&img, height, width, out);
    LF_FREE(img.px);
    return LF_OK;
}

lf_status lf_image_decode(const void *data, size_t len, size_t height, size_t width, uint8_t *out, char *msg,
                          size_t msg_size) {
    lf_err e;
    e.msg[0] = 0;
    lf_status st = decode(data, len, height, width, out, &e);
    copy_msg(msg, msg_size, e.msg);
    return st;
}

lf_status lf_image_load(const char *path, size_t height, size_t width, uint8_t *out, char *msg,
                        size_t msg_size) {
    lf_err e;
    e.msg[0] = 0;
    unsigned char *buf = NULL;
    size_t len = 0;
    lf_status st = path ? lf_io_read_file(path, &buf, &len, &e) : lf_fail(&e, LF_ERR_ARG, "no path given");
    if (st == LF_OK) {
        lf_err d;
        st = decode(buf, len, height, width, out, &d);
        if (st != LF_OK) lf_fail(&e, st, "%s: %s", path, d.msg);
    }
    LF_FREE(buf);
    copy_msg(msg, msg_size, e.msg);
    return st;
}
