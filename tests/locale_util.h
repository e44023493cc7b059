/*
 * locale_util.h — a comma-decimal locale for the tests that check that
 * numbers are read and written with '.' whatever the locale: an installed
 * one (de_DE, fr_FR, ...) or one built with localedef into a temporary
 * folder (glibc's locale sources ship with the `locales` package).
 */
#ifndef LF_LOCALE_UTIL_H
#define LF_LOCALE_UTIL_H

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Sets LC_NUMERIC (and LC_ALL where asked) to a comma-decimal locale,
 * building one into tmpdir when none is installed; returns its name, or
 * NULL when there is none to be had. */
static inline const char *set_comma_locale(const char *tmpdir, int category) {
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE", "fr_FR",
                                        "nl_NL.UTF-8", "ru_RU.UTF-8"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (setlocale(category, names[i])) return names[i];
    if (!tmpdir || access("/usr/bin/localedef", X_OK) != 0) return NULL;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1", tmpdir);
    if (system(cmd) == -1) return NULL;
    if (setenv("LOCPATH", tmpdir, 1) != 0) return NULL;
    return setlocale(category, "de_DE.UTF-8") ? "de_DE.UTF-8" : NULL;
}

#endif
