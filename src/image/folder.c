/*
 * folder.c — lf_image_folder_load: a folder of class sub-folders of PNG and
 * JPEG files into one uint8 NHWC array with int labels, in the order of
 * keras.utils.image_dataset_from_directory without shuffling (latefuse.h
 * has the rules).  Everything is listed and counted first, so the image
 * array is allocated once, with its size checked for overflow; a file that
 * fails to decode fails the whole load with a message naming it.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 32

/* A growable list of strings (each LF_MALLOC'd). */
typedef struct strlist {
    char **s;
    size_t n, cap;
} strlist;

static int strlist_add(strlist *l, const char *a, const char *b) {
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 16;
        char **q = LF_REALLOC(l->s, c * sizeof *q);
        if (!q) return 0;
        l->s = q, l->cap = c;
    }
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *p = LF_MALLOC(la + lb + 2);
    if (!p) return 0;
    memcpy(p, a, la);
    if (b) p[la] = '/', memcpy(p + la + 1, b, lb + 1);
    else p[la] = 0;
    l->s[l->n++] = p;
    return 1;
}

static void strlist_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) LF_FREE(l->s[i]);
    LF_FREE(l->s);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != suffix[i]) return 0;
    }
    return 1;
}

/* Lists the entries of dir: sub-folders into dirs (as paths), image files
 * into files (as names).  `top` is the class level: links to folders are
 * followed there, and folders whose names start with '.' are not classes
 * (Keras' index_directory skips them); below it links to folders are not
 * followed and hidden entries are kept, as Keras' os.walk keeps them.
 * LF_ERR_IO if dir cannot be read. */
static lf_status list(const char *dir, int top, strlist *dirs, strlist *files, lf_err *e) {
    DIR *d = opendir(dir);
    if (!d) return lf_fail(e, LF_ERR_IO, "%s: cannot open the folder", dir);
    lf_status st = LF_OK;
    struct dirent *ent;
    char path[4096];
    while (st == LF_OK && (ent = readdir(d)) != NULL) {
        const char *nm = ent->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, nm) >= sizeof path) {
            st = lf_fail(e, LF_ERR_IO, "%s/%s: the path is too long", dir, nm);
            break;
        }
        struct stat sb, lsb;
        int image = ends_with_ci(nm, ".png") || ends_with_ci(nm, ".jpg") || ends_with_ci(nm, ".jpeg");
        if (stat(path, &sb) != 0) {
            /* an image file that cannot be reached (a dangling link) is an
             * error, as Keras' read of it: not a file quietly left out */
            if (files && image) st = lf_fail(e, LF_ERR_IO, "%s: cannot read it: %s", path, strerror(errno));
            continue;
        }
        if (lstat(path, &lsb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            if (top && nm[0] == '.') continue;
            if (dirs && (top || !S_ISLNK(lsb.st_mode)) && !strlist_add(dirs, path, NULL))
                st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        } else if (files && S_ISREG(sb.st_mode)) {
            if (ends_with_ci(nm, ".bmp") || ends_with_ci(nm, ".gif"))
                st = lf_fail(e, LF_ERR_FORMAT, "%s: BMP and GIF images are not supported (only PNG and JPEG)", path);
            else if (image && !strlist_add(files, nm, NULL))
                st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        }
    }
    closedir(d);
    return st;
}

/* Appends the image files under one class folder to paths (and its label
 * to labels), in Keras' walk order: folders sorted by path, the files of
 * each sorted by name. */
static lf_status walk_class(const char *root, int32_t label, strlist *paths, int32_t **labels, size_t *cap,
                            lf_err *e) {
    strlist dirs = {0};
    lf_status st = strlist_add(&dirs, root, NULL) ? LF_OK : lf_fail(e, LF_ERR_NOMEM, "out of memory");
    /* breadth-first, so every folder is listed; sorted after */
    size_t depth_end = dirs.n, depth = 0;
    for (size_t i = 0; st == LF_OK && i < dirs.n; i++) {
        if (i == depth_end) depth++, depth_end = dirs.n;
        if (depth > MAX_DEPTH) {
            st = lf_fail(e, LF_ERR_IO, "%s: folders nested more than %d deep", dirs.s[i], MAX_DEPTH);
            break;
        }
        st = list(dirs.s[i], 0, &dirs, NULL, e);
    }
    if (st == LF_OK) qsort(dirs.s, dirs.n, sizeof *dirs.s, cmp_str);
    for (size_t i = 0; st == LF_OK && i < dirs.n; i++) {
        strlist files = {0};
        st = list(dirs.s[i], 0, NULL, &files, e);
        if (st == LF_OK) qsort(files.s, files.n, sizeof *files.s, cmp_str);
        for (size_t j = 0; st == LF_OK && j < files.n; j++) {
            if (paths->n == *cap) {
                size_t c = *cap ? 2 * *cap : 64;
                int32_t *q = LF_REALLOC(*labels, c * sizeof *q);
                if (!q) {
                    st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
                    break;
                }
                *labels = q, *cap = c;
            }
            if (!strlist_add(paths, dirs.s[i], files.s[j])) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
            else (*labels)[paths->n - 1] = label;
        }
        strlist_free(&files);
    }
    strlist_free(&dirs);
    return st;
}

void lf_image_set_free(lf_image_set *s) {
    if (!s) return;
    for (size_t i = 0; s->class_names && i < s->n_classes; i++) LF_FREE(s->class_names[i]);
    for (size_t i = 0; s->paths && i < s->n; i++) LF_FREE(s->paths[i]);
    LF_FREE(s->class_names), LF_FREE(s->paths), LF_FREE(s->images), LF_FREE(s->labels);
    memset(s, 0, sizeof *s);
}

lf_status lf_image_folder_load(const char *dir, size_t height, size_t width, lf_image_set *out, char *msg,
                               size_t msg_size) {
    lf_err e;
    e.msg[0] = 0;
    lf_status st = LF_OK;
    if (out) memset(out, 0, sizeof *out);
    if (!dir || !out) st = lf_fail(&e, LF_ERR_ARG, "no folder or no output given");
    else if (height < 1 || width < 1 || height > LF_IMAGE_MAX_SIDE || width > LF_IMAGE_MAX_SIDE)
        st = lf_fail(&e, LF_ERR_ARG, "the output size %zu x %zu (height x width) must be within 1..%u", height, width,
                     LF_IMAGE_MAX_SIDE);
    strlist classes = {0}, paths = {0};
    int32_t *labels = NULL;
    size_t cap = 0;
    if (st == LF_OK) st = list(dir, 1, &classes, NULL, &e);
    if (st == LF_OK && classes.n == 0) st = lf_fail(&e, LF_ERR_IO, "%s: no class sub-folders", dir);
    if (st == LF_OK) qsort(classes.s, classes.n, sizeof *classes.s, cmp_str);
    if (st == LF_OK && classes.n > INT32_MAX) st = lf_fail(&e, LF_ERR_ARG, "%s: too many classes", dir);
    for (size_t c = 0; st == LF_OK && c < classes.n; c++) st = walk_class(classes.s[c], (int32_t)c, &paths, &labels, &cap, &e);
    if (st == LF_OK && paths.n == 0) st = lf_fail(&e, LF_ERR_IO, "%s: no PNG or JPEG image in the class folders", dir);
    size_t per = height * width * 3, total = 0;
    if (st == LF_OK && !lf_mul_ok(paths.n, per, &total))
        st = lf_fail(&e, LF_ERR_NOMEM, "%zu images of %zu x %zu do not fit in memory", paths.n, height, width);
    if (st == LF_OK) {
        out->images = LF_MALLOC(total);
        out->class_names = lf_alloc_array(classes.n, sizeof(char *));
        if (!out->images || !out->class_names)
            st = lf_fail(&e, LF_ERR_NOMEM, "out of memory for %zu images of %zu x %zu", paths.n, height, width);
    }
    for (size_t i = 0; st == LF_OK && i < paths.n; i++) {
        char m[sizeof e.msg];
        st = lf_image_load(paths.s[i], height, width, out->images + i * per, m, sizeof m);
        if (st != LF_OK) lf_fail(&e, st, "%s", m);
    }
    if (st == LF_OK) {
        /* class names without the folder prefix */
        const size_t skip = strlen(dir) + 1;
        for (size_t c = 0; c < classes.n; c++) {
            memmove(classes.s[c], classes.s[c] + skip, strlen(classes.s[c] + skip) + 1);
            out->class_names[c] = classes.s[c];
        }
        out->n_classes = classes.n;
        LF_FREE(classes.s);
        out->paths = paths.s, out->labels = labels;
        out->n = paths.n, out->height = height, out->width = width;
    } else {
        if (out) lf_image_set_free(out);
        strlist_free(&classes);
        strlist_free(&paths);
        LF_FREE(labels);
    }
    if (msg && msg_size) snprintf(msg, msg_size, "%s", e.msg);
    return st;
}
