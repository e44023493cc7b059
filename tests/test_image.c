/*
 * test_image.c — the image decoders and the folder loader (lf_image_*).
 * The test writes its own PNG files (libpng's simplified writer: exact
 * pixels, grey, RGBA, palette, 16-bit) and JPEG files (libjpeg, quality 95:
 * pixels within 3, and exactly those of TensorFlow's JDCT_IFAST), checks the bilinear resize against values computed by
 * hand with TensorFlow's half-pixel rule, truncated and oversized files
 * (exact messages, nothing allocated for a 65535 x 65535 header), and a
 * folder of two classes and a hidden folder that is none (Keras' order,
 * labels, the file named on failure).
 * Built without libpng/libjpeg it checks the "built without" messages and
 * skips the rest (a skip fails under CI=true).
 */
#include "check.h"
#include "latefuse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef LF_HAVE_PNG
#include <png.h>
#endif
#ifdef LF_HAVE_JPEG
#include <jpeglib.h>
#endif

static char tmpdir[64];

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len, "short write %s", path);
    fclose(f);
}

#ifdef LF_HAVE_PNG
/* A 2 x 3 RGB picture (height 2, width 3) with values chosen for the
 * resize checks below. */
static const uint8_t PIX[2 * 3 * 3] = {
    0,   10, 1,   100, 21, 2,   30, 40, 50,   /* row 0 */
    200, 20, 3,   40,  10, 4,   60, 70, 80,   /* row 1 */
};

/* PNG bytes of w x h pixels in `format` (PNG_FORMAT_*), malloc'd. */
static unsigned char *png_bytes(const void *px, unsigned w, unsigned h, unsigned format, const void *cmap,
                                unsigned cmap_entries, size_t *len) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION, im.width = w, im.height = h, im.format = format;
    im.colormap_entries = cmap_entries;
    png_alloc_size_t n = 0;
    if (!png_image_write_to_memory(&im, NULL, &n, 0, px, 0, cmap)) return NULL;
    unsigned char *b = malloc(n);
    if (b && !png_image_write_to_memory(&im, b, &n, 0, px, 0, cmap)) free(b), b = NULL;
    *len = n;
    return b;
}
#endif

#ifdef LF_HAVE_JPEG
/* rgb (w x h x 3) decoded from a JPEG in memory with libjpeg's inverse DCT
 * `method` */
static void jpeg_decode_with(const unsigned char *jpg, size_t len, J_DCT_METHOD method, uint8_t *rgb) {
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, jpg, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB, d.dct_method = method;
    jpeg_start_decompress(&d);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = rgb + (size_t)d.output_scanline * d.output_width * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
}

static unsigned char *jpeg_bytes(const uint8_t *rgb, unsigned w, unsigned h, size_t *len) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &mem, &n);
    c.image_width = w, c.image_height = h, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = n;
    return mem;
}
#endif

#ifdef LF_HAVE_PNG
static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* whether the 4 bytes of tag occur in p[0..n) */
static int has_bytes(const unsigned char *p, size_t n, const char *tag) {
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(p + i, tag, 4) == 0) return 1;
    return 0;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}
#endif

static void test_png(void) {
#ifdef LF_HAVE_PNG
    size_t len;
    unsigned char *png = png_bytes(PIX, 3, 2, PNG_FORMAT_RGB, NULL, 0, &len);
    CHECK(png != NULL, "png writer");
    if (!png) return;
    uint8_t out[4 * 6 * 3];
    char msg[512];
    CHECK(lf_image_decode(png, len, 2, 3, out, msg, sizeof msg) == LF_OK && msg[0] == 0, "decode: %s", msg);
    CHECK(memcmp(out, PIX, sizeof PIX) == 0, "PNG pixels exact at the native size");
    /* 1 x 1: y: in = 0.5*2 - 0.5 = 0.5 -> rows 0 and 1, lerp 0.5; x: in =
     * 0.5*3 - 0.5 = 1 -> column 1 only.  R = (100 + 40)/2 = 70,
     * G = (21 + 10)/2 = 15.5 -> 16, B = (2 + 4)/2 = 3 */
    CHECK(lf_image_decode(png, len, 1, 1, out, msg, sizeof msg) == LF_OK, "1x1: %s", msg);
    CHECK(out[0] == 70 && out[1] == 16 && out[2] == 3, "1x1 bilinear: %d %d %d, want 70 16 3", out[0], out[1], out[2]);
    /* 4 x 6: pixel (1, 1): y in = 1.5*0.5 - 0.5 = 0.25 -> rows 0, 1, lerp
     * 0.25; x the same -> columns 0, 1, lerp 0.25.  R: top = 0 + 100*0.25 =
     * 25, bottom = 200 - 160*0.25 = 160, 25 + 135*0.25 = 58.75 -> 59.
     * Pixel (0, 0): in = -0.25 -> lower = upper = 0: exactly PIX(0, 0). */
    CHECK(lf_image_decode(png, len, 4, 6, out, msg, sizeof msg) == LF_OK, "4x6: %s", msg);
    CHECK(out[(1 * 6 + 1) * 3] == 59, "4x6 bilinear at (1,1): R %d, want 59", out[(1 * 6 + 1) * 3]);
    CHECK(out[0] == 0 && out[1] == 10 && out[2] == 1, "4x6 corner is the source corner");
    CHECK(out[(3 * 6 + 5) * 3 + 2] == 80, "4x6 far corner: B %d, want 80", out[(3 * 6 + 5) * 3 + 2]);

    /* truncated: half the file */
    char path[256], want[512];
    snprintf(path, sizeof path, "%s/half.png", tmpdir);
    write_file(path, png, len / 2);
    snprintf(want, sizeof want, "%s: corrupt or truncated PNG: the data end early (a truncated file)", path);
    CHECK(lf_image_load(path, 2, 3, out, msg, sizeof msg) == LF_ERR_FORMAT && strcmp(msg, want) == 0,
          "truncated PNG: %s", msg);
    /* a flipped bit in the image data: the CRC check catches it */
    unsigned char *bad = malloc(len);
    if (bad) {
        memcpy(bad, png, len);
        bad[len - 20] ^= 0x40;
        CHECK(lf_image_decode(bad, len, 2, 3, out, msg, sizeof msg) == LF_ERR_FORMAT &&
                  strncmp(msg, "corrupt or truncated PNG: ", 26) == 0,
              "corrupt PNG: %s", msg);
        free(bad);
    }
    /* 65535 x 65535 in a valid IHDR: refused before any allocation */
    unsigned char *big = malloc(len);
    if (big) {
        memcpy(big, png, len);
        put32(big + 16, 65535), put32(big + 20, 65535);
        put32(big + 29, crc32_of(big + 12, 17)); /* "IHDR" + 13 bytes */
        CHECK(lf_image_decode(big, len, 2, 3, out, msg, sizeof msg) == LF_ERR_FORMAT &&
                  strcmp(msg, "the PNG is 65535 x 65535 pixels (width x height), more than the limit of 16384 per "
                              "side and 67108864 in all") == 0,
              "huge PNG: %s", msg);
        free(big);
    }
    free(png);

    /* grey, grey + alpha, RGBA, a palette, 16-bit grey */
    const uint8_t g[2] = {77, 200};
    png = png_bytes(g, 2, 1, PNG_FORMAT_GRAY, NULL, 0, &len);
    CHECK(png && lf_image_decode(png, len, 1, 2, out, msg, sizeof msg) == LF_OK && out[0] == 77 && out[1] == 77 &&
              out[2] == 77 && out[3] == 200 && out[5] == 200,
          "grey PNG to RGB: %s", msg);
    free(png);
    const uint8_t rgba[8] = {1, 2, 3, 4, 250, 251, 252, 0};
    png = png_bytes(rgba, 2, 1, PNG_FORMAT_RGBA, NULL, 0, &len);
    CHECK(png && lf_image_decode(png, len, 1, 2, out, msg, sizeof msg) == LF_OK && out[0] == 1 && out[1] == 2 &&
              out[2] == 3 && out[3] == 250 && out[4] == 251 && out[5] == 252,
          "RGBA PNG: alpha dropped, colours kept: %s (%d %d %d %d %d %d)", msg, out[0], out[1], out[2], out[3], out[4],
          out[5]);
    free(png);
    const uint8_t idx[3] = {1, 0, 1}, cmap[6] = {9, 8, 7, 11, 22, 33};
    png = png_bytes(idx, 3, 1, PNG_FORMAT_RGB_COLORMAP, cmap, 2, &len);
    CHECK(png && lf_image_decode(png, len, 1, 3, out, msg, sizeof msg) == LF_OK && out[0] == 11 && out[1] == 22 &&
              out[2] == 33 && out[3] == 9 && out[6] == 11,
          "palette PNG: %s", msg);
    free(png);
    /* a palette with a transparent entry (a tRNS chunk): the colours, as
     * TensorFlow's decoder strips the alpha that tRNS would add */
    const uint8_t cmap_a[8] = {9, 8, 7, 128, 11, 22, 33, 255};
    png = png_bytes(idx, 3, 1, PNG_FORMAT_RGBA_COLORMAP, cmap_a, 2, &len);
    CHECK(png != NULL && has_bytes(png, len, "tRNS"), "the palette PNG has a tRNS chunk");
    CHECK(png && lf_image_decode(png, len, 1, 3, out, msg, sizeof msg) == LF_OK && out[0] == 11 && out[1] == 22 &&
              out[2] == 33 && out[3] == 9 && out[4] == 8 && out[5] == 7,
          "palette PNG with tRNS: %s (%d %d %d %d %d %d)", msg, out[0], out[1], out[2], out[3], out[4], out[5]);
    free(png);
    /* 16-bit samples keep their high byte, as TensorFlow's decoder
     * (png_set_strip_16): 0xFF00 -> 255 and 0x00FF -> 0, where rounding
     * v / 257 would give 254 and 1 */
    const uint16_t g16[4] = {0x8080, 4660, 0xFF00, 0x00FF};
    png = png_bytes(g16, 4, 1, PNG_FORMAT_LINEAR_Y, NULL, 0, &len);
    CHECK(png && lf_image_decode(png, len, 1, 4, out, msg, sizeof msg) == LF_OK && out[0] == 128 && out[3] == 18 &&
              out[6] == 255 && out[9] == 0,
          "16-bit PNG cut to 8 bits: %s (%d %d %d %d)", msg, out[0], out[3], out[6], out[9]);
    free(png);
#else
    CHECK_SKIP("built without libpng: the PNG decoding checks need libpng-dev");
#endif
}

static void test_jpeg(void) {
#ifdef LF_HAVE_JPEG
    uint8_t rgb[16 * 16 * 3];
    for (size_t i = 0; i < 16 * 16; i++) rgb[3 * i] = 200, rgb[3 * i + 1] = 100, rgb[3 * i + 2] = 50;
    size_t len;
    unsigned char *jpg = jpeg_bytes(rgb, 16, 16, &len);
    uint8_t out[16 * 16 * 3];
    char msg[512];
    CHECK(lf_image_decode(jpg, len, 16, 16, out, msg, sizeof msg) == LF_OK, "decode JPEG: %s", msg);
    int worst = 0;
    for (size_t i = 0; i < sizeof out; i++) {
        int d = abs((int)out[i] - (int)rgb[i]);
        if (d > worst) worst = d;
    }
    CHECK(worst <= 3, "JPEG pixels within 3 of the original (worst %d)", worst);
    /* a textured picture: the pixels are libjpeg's with the fast integer
     * inverse DCT (JDCT_IFAST), as TensorFlow's DecodeImage op under
     * Keras' image_dataset_from_directory, not the default JDCT_ISLOW */
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)((i * 37 + (i / 48) * 91) % 256);
    unsigned char *tex = jpeg_bytes(rgb, 16, 16, &len);
    uint8_t fast[16 * 16 * 3], slow[16 * 16 * 3];
    jpeg_decode_with(tex, len, JDCT_IFAST, fast);
    jpeg_decode_with(tex, len, JDCT_ISLOW, slow);
    CHECK(memcmp(fast, slow, sizeof fast) != 0, "the two inverse DCTs differ on the textured picture");
    CHECK(lf_image_decode(tex, len, 16, 16, out, msg, sizeof msg) == LF_OK && memcmp(out, fast, sizeof out) == 0,
          "JPEG pixels are the JDCT_IFAST ones: %s", msg);
    free(tex);
    for (size_t i = 0; i < 16 * 16; i++) rgb[3 * i] = 200, rgb[3 * i + 1] = 100, rgb[3 * i + 2] = 50;
    char path[256], want[512];
    snprintf(path, sizeof path, "%s/cut.jpg", tmpdir);
    write_file(path, jpg, len * 2 / 3);
    snprintf(want, sizeof want, "%s: corrupt or truncated JPEG: Premature end of JPEG file", path);
    CHECK(lf_image_load(path, 16, 16, out, msg, sizeof msg) == LF_ERR_FORMAT && strcmp(msg, want) == 0,
          "truncated JPEG: %s", msg);
    /* huge frame header: the SOF0 marker's height and width set to 65000 */
    unsigned char *big = malloc(len);
    int patched = 0;
    for (size_t i = 0; big && i + 8 < len && !patched; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            memcpy(big, jpg, len);
            big[i + 5] = 0xFD, big[i + 6] = 0xE8, big[i + 7] = 0xFD, big[i + 8] = 0xE8;
            patched = 1;
        }
    CHECK(patched, "SOF0 found");
    if (patched)
        CHECK(lf_image_decode(big, len, 16, 16, out, msg, sizeof msg) == LF_ERR_FORMAT &&
                  strcmp(msg, "the JPEG is 65000 x 65000 pixels (width x height), more than the limit of 16384 per "
                              "side and 67108864 in all") == 0,
              "huge JPEG: %s", msg);
    free(big);
    free(jpg);
#else
    CHECK_SKIP("built without libjpeg: the JPEG decoding checks need libjpeg62-turbo-dev");
#endif
}

static void test_misc(void) {
    char msg[512];
    uint8_t out[12];
    const unsigned char junk[] = "hello world";
    CHECK(lf_image_decode(junk, 11, 2, 2, out, msg, sizeof msg) == LF_ERR_FORMAT &&
              strcmp(msg, "not a PNG or JPEG image (its first bytes are neither signature)") == 0,
          "junk: %s", msg);
    CHECK(lf_image_decode("GIF89a", 6, 2, 2, out, msg, sizeof msg) == LF_ERR_FORMAT &&
              strcmp(msg, "a GIF image: only PNG and JPEG are supported") == 0,
          "gif: %s", msg);
    CHECK(lf_image_decode(junk, 11, 0, 2, out, msg, sizeof msg) == LF_ERR_ARG &&
              strcmp(msg, "the output size 0 x 2 (height x width) must be within 1..16384") == 0,
          "size 0: %s", msg);
    static const unsigned char sig[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0};
    lf_status st = lf_image_decode(sig, sizeof sig, 2, 2, out, msg, sizeof msg);
#ifdef LF_HAVE_PNG
    CHECK(st == LF_ERR_FORMAT && strncmp(msg, "corrupt or truncated PNG: ", 26) == 0, "PNG signature only: %s", msg);
    CHECK((lf_image_formats() & LF_IMAGE_PNG) != 0, "formats say PNG");
#else
    CHECK(st == LF_ERR_STATE && strcmp(msg, "latefuse was built without libpng: install libpng-dev and rebuild") == 0,
          "no libpng: %s", msg);
    CHECK((lf_image_formats() & LF_IMAGE_PNG) == 0, "formats say no PNG");
#endif
#ifndef LF_HAVE_JPEG
    static const unsigned char jsig[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0};
    CHECK(lf_image_decode(jsig, sizeof jsig, 2, 2, out, msg, sizeof msg) == LF_ERR_STATE &&
              strcmp(msg, "latefuse was built without libjpeg: install libjpeg62-turbo-dev and rebuild") == 0,
          "no libjpeg: %s", msg);
#endif
    char path[256], want[512];
    snprintf(path, sizeof path, "%s/none.png", tmpdir);
    CHECK(lf_image_load(path, 2, 2, out, msg, sizeof msg) == LF_ERR_IO && strstr(msg, path) != NULL,
          "missing file: %s", msg);
    snprintf(path, sizeof path, "%s/junk.jpg", tmpdir);
    write_file(path, junk, 11);
    snprintf(want, sizeof want, "%s: not a PNG or JPEG image (its first bytes are neither signature)", path);
    CHECK(lf_image_load(path, 2, 2, out, msg, sizeof msg) == LF_ERR_FORMAT && strcmp(msg, want) == 0,
          "junk file: %s", msg);
}

static void test_folder(void) {
#if defined(LF_HAVE_PNG) && defined(LF_HAVE_JPEG)
    char root[128], p[256];
    snprintf(root, sizeof root, "%s/set", tmpdir);
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/b_class", root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a_class", root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a_class/sub", root), mkdir(p, 0755);
    size_t len;
    uint8_t solid[2 * 3 * 3];
    unsigned char *img;
    /* b_class: 2.png (value 2) and 1.png (value 1); a_class: x.jpg, sub/y.PNG (5) */
    for (int v = 1; v <= 2; v++) {
        memset(solid, v, sizeof solid);
        img = png_bytes(solid, 3, 2, PNG_FORMAT_RGB, NULL, 0, &len);
        snprintf(p, sizeof p, "%s/b_class/%d.png", root, v);
        if (img) write_file(p, img, len);
        free(img);
    }
    memset(solid, 5, sizeof solid);
    img = png_bytes(solid, 3, 2, PNG_FORMAT_RGB, NULL, 0, &len);
    snprintf(p, sizeof p, "%s/a_class/sub/y.PNG", root);
    if (img) write_file(p, img, len);
    free(img);
    uint8_t rgb[16 * 16 * 3];
    memset(rgb, 128, sizeof rgb);
    img = jpeg_bytes(rgb, 16, 16, &len);
    snprintf(p, sizeof p, "%s/a_class/x.jpg", root);
    if (img) write_file(p, img, len);
    free(img);
    snprintf(p, sizeof p, "%s/a_class/notes.txt", root);
    write_file(p, "not an image", 12);
    /* a hidden folder (a notebook's checkpoints) is no class, as Keras'
     * index_directory skips names starting with '.' */
    snprintf(p, sizeof p, "%s/.ipynb_checkpoints", root), mkdir(p, 0755);
    memset(solid, 9, sizeof solid);
    img = png_bytes(solid, 3, 2, PNG_FORMAT_RGB, NULL, 0, &len);
    snprintf(p, sizeof p, "%s/.ipynb_checkpoints/z.png", root);
    if (img) write_file(p, img, len);
    free(img);

    lf_image_set s;
    char msg[512];
    lf_status st = lf_image_folder_load(root, 2, 3, &s, msg, sizeof msg);
    CHECK(st == LF_OK, "folder: %s", msg);
    if (st == LF_OK) {
        CHECK(s.n == 4 && s.n_classes == 2 && s.height == 2 && s.width == 3, "n %zu classes %zu", s.n, s.n_classes);
        CHECK(s.n_classes == 2 && strcmp(s.class_names[0], "a_class") == 0 && strcmp(s.class_names[1], "b_class") == 0,
              "class names sorted");
        const char *files[] = {"a_class/x.jpg", "a_class/sub/y.PNG", "b_class/1.png", "b_class/2.png"};
        const int32_t labels[] = {0, 0, 1, 1};
        const int first[] = {128, 5, 1, 2};
        for (size_t i = 0; i < 4 && i < s.n; i++) {
            snprintf(p, sizeof p, "%s/%s", root, files[i]);
            CHECK(strcmp(s.paths[i], p) == 0, "image %zu is %s, want %s", i, s.paths[i], p);
            CHECK(s.labels[i] == labels[i], "label %zu: %d", i, s.labels[i]);
            const uint8_t *px = s.images + i * 2 * 3 * 3;
            CHECK(abs(px[0] - first[i]) <= (i == 0 ? 2 : 0) && abs(px[17] - first[i]) <= (i == 0 ? 2 : 0),
                  "image %zu pixels %d %d, want %d", i, px[0], px[17], first[i]);
        }
        lf_image_set_free(&s);
    }
    /* one truncated file fails the load and is named */
    snprintf(p, sizeof p, "%s/b_class/3.png", root);
    write_file(p, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    char want[512];
    snprintf(want, sizeof want, "%s: corrupt or truncated PNG: the data end early (a truncated file)", p);
    st = lf_image_folder_load(root, 2, 3, &s, msg, sizeof msg);
    CHECK(st == LF_ERR_FORMAT && strcmp(msg, want) == 0 && s.images == NULL && s.n == 0, "bad file in folder: %s", msg);
    remove(p);
    snprintf(p, sizeof p, "%s/b_class/anim.GIF", root);
    write_file(p, "GIF89a", 6);
    snprintf(want, sizeof want, "%s: BMP and GIF images are not supported (only PNG and JPEG)", p);
    st = lf_image_folder_load(root, 2, 3, &s, msg, sizeof msg);
    CHECK(st == LF_ERR_FORMAT && strcmp(msg, want) == 0, "gif in folder: %s", msg);
    remove(p);
    /* an image that is a link to nothing fails the load, named, as Keras'
     * read of it does (it was left out quietly); a link to nothing under
     * another name is no image and stays ignored */
    snprintf(p, sizeof p, "%s/b_class/gone.png", root);
    CHECK(symlink("/nonexistent/gone.png", p) == 0, "symlink");
    snprintf(want, sizeof want, "%s: cannot read it: No such file or directory", p);
    st = lf_image_folder_load(root, 2, 3, &s, msg, sizeof msg);
    CHECK(st == LF_ERR_IO && strcmp(msg, want) == 0 && s.n == 0, "dangling image link: %s", msg);
    remove(p);
    snprintf(p, sizeof p, "%s/b_class/gone.txt", root);
    CHECK(symlink("/nonexistent/gone.txt", p) == 0, "symlink");
    st = lf_image_folder_load(root, 2, 3, &s, msg, sizeof msg);
    CHECK(st == LF_OK && s.n == 4, "dangling non-image link: %s", msg);
    if (st == LF_OK) lf_image_set_free(&s);
    remove(p);
    snprintf(p, sizeof p, "%s/a_class", root);
    snprintf(want, sizeof want, "%s: no class sub-folders", p);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub", p);
    st = lf_image_folder_load(sub, 2, 3, &s, msg, sizeof msg);
    snprintf(want, sizeof want, "%s: no class sub-folders", sub);
    CHECK(st == LF_ERR_IO && strcmp(msg, want) == 0, "no classes: %s", msg);
#else
    CHECK_SKIP("built without libpng or libjpeg: the folder checks need both");
#endif
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_image_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_png();
    test_jpeg();
    test_misc();
    test_folder();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report("image");
}
