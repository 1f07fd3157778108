/* channels: the channels built into this cocod and cococtl. Adding one is a folder under
 * connectors/ and one line in channels.c. */
#pragma once

#include <stddef.h>

#include "channel.h"

/* NULL if no channel has that name. */
const channel_ops *channel_find(const char *name);
/* The list, NULL-terminated, in the order of channels.c (the first is the default). */
const channel_ops *const *channel_list(void);
/* Tells the config loader which channels and sections exist (config_register_channels()).
 * Call once before config_load(). */
void channels_register_config(void);
