/* lazylib: a shared library opened on first use (dlopen), for the big ones cocod needs only
 * for some configurations or some mail: libical (and with it ICU and libstdc++, ~3 MiB of
 * resident pages for relocations and symbol tables alone) only for a named time zone or an
 * RRULE, libxml2 (ICU again) only for an HTML-only mail. Linked normally, every process pays
 * for loading and relocating them before main() (docs/performance.md, "Memory").
 *
 * A user lists the functions it calls, declares a struct of pointers typed from the real
 * headers and redirects the names to it:
 *
 *   #define ICAL_FUNCS(X) X(icaltime_null_time) X(icalrecur_iterator_new)
 *   LAZYLIB_DECLARE(ical, ICAL_FUNCS)            -> struct ical_lib, ical_lib()
 *   #define icaltime_null_time (ical_lib()->icaltime_null_time)
 *
 * and defines it once (LAZYLIB_DEFINE(ical, ICAL_FUNCS, "libical.so.3")). The first call
 * opens the library (thread-safe: pthread_once) and resolves every name; a library or a
 * symbol that is missing is a broken installation: logged, and the process aborts. */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#define LAZYLIB_FIELD_(f) __typeof__(&f) f;
#define LAZYLIB_NAME_(f) #f,

#define LAZYLIB_DECLARE(lib, FUNCS)                                                               \
	struct lib##_lib {                                                                        \
		FUNCS(LAZYLIB_FIELD_)                                                             \
	};                                                                                        \
	const struct lib##_lib *lib##_lib(void);

#define LAZYLIB_DEFINE(lib, FUNCS, soname)                                                        \
	static struct lib##_lib lib##_lib_fns;                                                    \
	static pthread_once_t lib##_lib_once = PTHREAD_ONCE_INIT;                                 \
	static void lib##_lib_load(void)                                                          \
	{                                                                                         \
		static const char *const names[] = {FUNCS(LAZYLIB_NAME_)};                        \
		void *fns[sizeof names / sizeof *names];                                          \
		_Static_assert(sizeof fns == sizeof lib##_lib_fns, "one pointer a function");     \
		lazylib_load(soname, names, sizeof names / sizeof *names, fns);                   \
		memcpy(&lib##_lib_fns, fns, sizeof fns);                                          \
	}                                                                                         \
	const struct lib##_lib *lib##_lib(void)                                                   \
	{                                                                                         \
		pthread_once(&lib##_lib_once, lib##_lib_load);                                    \
		return &lib##_lib_fns;                                                            \
	}

/* Opens soname and stores the address of each of names[0..n) into fns[0..n); aborts on any
 * failure. */
void lazylib_load(const char *soname, const char *const *names, size_t n, void **fns);
