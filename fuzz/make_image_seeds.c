/*
 * make_image_seeds.c — writes the seed corpus of the image decoder fuzzer
 * (fuzz_image.c) with libpng's simplified writer and libjpeg, each file a
 * few hundred bytes.  Run by fuzz/make_corpus.sh; the outputs are committed
 * under fuzz/corpus/image/.
 *
 *   make_image_seeds OUTDIR
 * ok_*:  rgb.png, gray.png, rgba.png, palette.png, gray16.png, rgb.jpg,
 *        gray.jpg, progressive.jpg (must decode);
 * bad_*: truncated.png, crc.png (a flipped bit in the compressed data), huge.png (a 65535 x 65535
 *        IHDR with a valid CRC), truncated.jpg, huge.jpg (65000 x 65000 in
 *        SOF), not_image.bin (must fail with LF_ERR_FORMAT).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */
#include <png.h>

static const char *outdir;

static int put(const char *name, const void *data, size_t len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f) fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

static unsigned char *png_mem(const void *px, unsigned w, unsigned h, unsigned format, const void *cmap,
                              unsigned entries, size_t *len) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION, im.width = w, im.height = h, im.format = format;
    im.colormap_entries = entries;
    png_alloc_size_t n = 0;
    if (!png_image_write_to_memory(&im, NULL, &n, 0, px, 0, cmap)) return NULL;
    unsigned char *b = malloc(n);
    if (b && !png_image_write_to_memory(&im, b, &n, 0, px, 0, cmap)) free(b), b = NULL;
    *len = n;
    return b;
}

static unsigned char *jpeg_mem(const uint8_t *px, unsigned w, unsigned h, int comps, int progressive, size_t *len) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &mem, &n);
    c.image_width = w, c.image_height = h, c.input_components = comps;
    c.in_color_space = comps == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 75, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * (size_t)comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = n;
    return mem;
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_image_seeds OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    uint8_t rgb[8 * 8 * 4], gray[8 * 8];
    for (int i = 0; i < 64; i++) {
        rgb[3 * i] = (uint8_t)(i * 4), rgb[3 * i + 1] = (uint8_t)(255 - i * 3), rgb[3 * i + 2] = (uint8_t)(i * i);
        gray[i] = (uint8_t)(i * 4);
    }
    int rc = 0;
    size_t len;
    unsigned char *b = png_mem(rgb, 8, 8, PNG_FORMAT_RGB, NULL, 0, &len);
    if (!b) return 1;
    rc |= put("ok_rgb.png", b, len);
    rc |= put("bad_truncated.png", b, len / 2);
    b[len - 20] ^= 0x40;
    rc |= put("bad_crc.png", b, len);
    b[len - 20] ^= 0x40;
    put32(b + 16, 65535), put32(b + 20, 65535), put32(b + 29, crc32_of(b + 12, 17));
    rc |= put("bad_huge.png", b, len);
    free(b);
    b = png_mem(gray, 8, 8, PNG_FORMAT_GRAY, NULL, 0, &len);
    rc |= !b || put("ok_gray.png", b, len);
    free(b);
    b = png_mem(rgb, 4, 4, PNG_FORMAT_RGBA, NULL, 0, &len);
    rc |= !b || put("ok_rgba.png", b, len);
    free(b);
    const uint8_t idx[16] = {0, 1, 2, 3, 3, 2, 1, 0, 0, 0, 1, 1, 2, 2, 3, 3};
    const uint8_t cmap[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9};
    b = png_mem(idx, 4, 4, PNG_FORMAT_RGB_COLORMAP, cmap, 4, &len);
    rc |= !b || put("ok_palette.png", b, len);
    free(b);
    const uint16_t g16[4] = {0, 1000, 40000, 65535};
    b = png_mem(g16, 2, 2, PNG_FORMAT_LINEAR_Y, NULL, 0, &len);
    rc |= !b || put("ok_gray16.png", b, len);
    free(b);

    b = jpeg_mem(rgb, 8, 8, 3, 0, &len);
    rc |= put("ok_rgb.jpg", b, len);
    rc |= put("bad_truncated.jpg", b, len * 2 / 3);
    for (size_t i = 0; i + 8 < len; i++)
        if (b[i] == 0xFF && b[i + 1] == 0xC0) {
            b[i + 5] = 0xFD, b[i + 6] = 0xE8, b[i + 7] = 0xFD, b[i + 8] = 0xE8;
            break;
        }
    rc |= put("bad_huge.jpg", b, len);
    free(b);
    b = jpeg_mem(gray, 8, 8, 1, 0, &len);
    rc |= put("ok_gray.jpg", b, len);
    free(b);
    b = jpeg_mem(rgb, 8, 8, 3, 1, &len);
    rc |= put("ok_progressive.jpg", b, len);
    free(b);
    rc |= put("bad_not_image.bin", "neither PNG nor JPEG", 20);
    return rc;
}
