/* lazylib: see lazylib.h. */
#include <dlfcn.h>
#include <stdlib.h>

#include "lazylib.h"
#include "util.h"

void lazylib_load(const char *soname, const char *const *names, size_t n, void **fns)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_error("cannot load %s: %s", soname, dlerror());
		abort();
	}
	for (size_t i = 0; i < n; i++) {
		fns[i] = dlsym(h, names[i]);
		if (!fns[i]) {
			log_error("%s has no %s: %s", soname, names[i], dlerror());
			abort();
		}
	}
	log_debug("loaded %s", soname);
}
