/* state-check: what a campaign's state.json (docs/store-format.md) must be before the core
 * trusts it. A file that fails is not replaced by a fresh start: that would open rounds
 * again and send their invitations twice, so cocod refuses to start instead. */
#pragma once

#include <cjson/cJSON.h>

/* 0 if o is a version-1 state document whose members have the right types and whose numbers
 * are integers in range; else -EBADMSG with *ret_why (malloc'd) saying what is wrong. */
int state_check(const cJSON *o, char **ret_why);
