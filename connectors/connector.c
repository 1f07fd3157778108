/* connector: the static list of connectors built into cocod; see connector.h. */
#include "connector.h"

#include <string.h>

#include "util.h"

/* The core looks connectors up by the names in [Daemon] Connectors=; adding one means
 * adding its vtable here. */
static const connector_ops *const connectors[] = {
	&local_connector,
};

const connector_ops *connector_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(connectors); i++)
		if (STREQ(connectors[i]->name, name))
			return connectors[i];
	return NULL;
}
