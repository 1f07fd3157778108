/* cococtl: what the files of the admin CLI share. cococtl.c owns the command line (options
 * before or after the command, help, exit codes); cococtl-offline.c the commands that work
 * on files (check, plan, render, keygen, link), cococtl-mail.c mail-parse; cococtl-daemon.c those that talk to
 * cocod over its control socket. Not an interface for anything else. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Exit codes, documented in docs/cococtl.md. */
enum { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2 };

/* Options of the commands; which command takes which is in the table in cococtl.c. */
typedef enum ctl_opt {
	OPT_FORMAT,
	OPT_PARTIALS,
	OPT_NOW,
	OPT_MEMBER,
	OPT_WEEKS,
	OPT_HISTORY,
	OPT_CAMPAIGN,
	OPT_DAYS,
	OPT_FORCE,
	_OPT_MAX,
} ctl_opt;

typedef struct ctl_args {
	const char *name;          /* the command */
	char **pos;                /* its positional arguments */
	size_t n_pos;
	const char *opt[_OPT_MAX]; /* an option's value ("" for a flag); NULL: not given */
} ctl_args;

extern const char *arg_config; /* --config DIR */
extern bool arg_config_given;  /* --config was on the command line (not the default) */
extern const char *arg_socket; /* --socket PATH, or NULL */

/* Prints "cococtl NAME: <msg>" and NAME's usage line to stderr; returns CTL_USAGE. */
int ctl_usage_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_check(const ctl_args *a);
int cmd_plan(const ctl_args *a);
int cmd_render(const ctl_args *a);
int cmd_mail_parse(const ctl_args *a);
int cmd_keygen(const ctl_args *a);
int cmd_link(const ctl_args *a);

int cmd_status(const ctl_args *a);
int cmd_rounds(const ctl_args *a);
int cmd_round_action(const ctl_args *a);
int cmd_digest(const ctl_args *a);
int cmd_export(const ctl_args *a);
int cmd_forget(const ctl_args *a);
int cmd_poll(const ctl_args *a);
int cmd_resubscribe(const ctl_args *a);
