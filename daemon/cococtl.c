/* cococtl: the admin CLI. This file owns the command line: the global options (--config,
 * --socket) are taken before or after the command, each command's own options after it;
 * every command has --help and `cococtl help COMMAND` says the same. Exit codes: 0 done,
 * 1 failed, 2 usage error (docs/cococtl.md). The commands are in cococtl-offline.c and
 * cococtl-daemon.c. */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "channels.h"
#include "cococtl.h"
#include "clock.h"
#include "util.h"
#include "version.h"

const char *arg_config = COCO_SYSCONFDIR;
bool arg_config_given = false;
const char *arg_socket = NULL;

static const struct {
	const char *name, *arg, *help;
} opt_defs[_OPT_MAX] = {
	[OPT_FORMAT] = {"format", "csv|json", "output format (default csv)"},
	[OPT_PARTIALS] = {"partials", "DIR", "where {{> name}} partials are read (default: the "
	                                     "template's directory)"},
	[OPT_NOW] = {"now", "'YYYY-MM-DD HH:MM'", "the reference instant in each campaign's\n"
	             "                             TimeZone=, for previews and tests (default: now)"},
	[OPT_MEMBER] = {"member", "ID", "only what this member gets"},
	[OPT_WEEKS] = {"weeks", "N", "how many weeks ahead, 1-520 (default 6)"},
	[OPT_HISTORY] = {"history", NULL, "also the answers later ones superseded (column\n"
	                 "                             status: superseded)"},
	[OPT_CAMPAIGN] = {"campaign", "ID", "the campaign (default: the member's first)"},
	[OPT_DAYS] = {"days", "N", "how long the link works, 0-365 days (default 30)"},
	[OPT_FORCE] = {"force", NULL, "remind also those invited or reminded in the last 12 hours"},
};

#define O(x) (1u << (x))

typedef struct ctl_command {
	const char *name;
	const char *args;    /* what follows the name in the usage line */
	const char *summary; /* one line for the overview */
	const char *help;    /* more, for --help; may be NULL */
	unsigned opts;       /* O(OPT_*) it takes */
	unsigned min_pos, max_pos;
	int (*run)(const ctl_args *a);
	bool daemon; /* talks to cocod */
} ctl_command;

static int cmd_help(const ctl_args *a);

static const ctl_command commands[] = {
	{"check", "[--now TIME]", "validate the configuration (like nginx -t)",
	 "Reads DIR/coco.conf and DIR/campaigns.d/*.conf the way cocod does, then simulates every\n"
	 "campaign's whole schedule (until the last close; a year for repeats without an end) and\n"
	 "reports, as FILE:LINE:, what would go wrong at run time: an Open= in the past for a round\n"
	 "not yet run, a reminder before its round opens, overlapping occurrences of one round, a\n"
	 "vote opening before its Source= round closes, periodic digests that would cover no open\n"
	 "round, an empty Email=, a missing or world-readable secret key. Exits 0 if there is no\n"
	 "error (warnings are printed), 1 otherwise.",
	 O(OPT_NOW), 0, 0, cmd_check, false},
	{"plan", "CAMPAIGN [--member ID] [--weeks N] [--now TIME]",
	 "show every open, reminder, close and digest ahead",
	 "Prints the campaign's simulated timeline from now (or --now) on: every invitation,\n"
	 "reminder, close and digest with who gets it, at the time each recipient sees it in their\n"
	 "own time zone (quiet hours applied). Reminders are listed for everyone asked; cocod sends\n"
	 "them only to those who have not answered by then. Needs no running cocod: it works\n"
	 "from the configuration, leaving out what cocod's state.json (when readable) says has\n"
	 "run; rounds opened or closed by hand are not reflected (see cococtl rounds).",
	 O(OPT_MEMBER) | O(OPT_WEEKS) | O(OPT_NOW), 1, 1, cmd_plan, false},
	{"render", "[--partials DIR] TEMPLATE DATA.json",
	 "print TEMPLATE rendered with DATA, byte for byte", NULL, O(OPT_PARTIALS), 2, 2,
	 cmd_render, false},
	{"mail-parse", "FILE...", "how cocod reads mail files: one JSON line per file",
	 "Reads each FILE (- for standard input) as cocod's mail connector would and prints one\n"
	 "compact JSON line per file, in order:\n"
	 "  {\"file\",\"message_id\",\"from\",\"to\":[...],\"subject\",\"reply_to\",\"tag\",\"member\",\n"
	 "   \"automatic\",\"reply\",\"trimmed\",\"answers\",\"error\"}\n"
	 "reply is the text coco reads as the answer (quotes, signatures and sign-offs cut), trimmed\n"
	 "what was cut. tag, member and answers need a configuration (--config DIR, or the default\n"
	 "when it loads): tag is the reply tag found with [Mail] From=; member the member the tag\n"
	 "belongs to when the mail comes from one of their addresses (without a readable secret\n"
	 "key, or without a tag: the member whose Email= is the From address); answers what the\n"
	 "answer grammar makes of reply for the survey or idea round the tag points to (needs the\n"
	 "secret key; null for vote rounds, whose ballot is in cocod's state, and for comments on\n"
	 "digests). A file that cannot be used still gets its line, with error saying why: not a\n"
	 "mail, too big, too deeply nested, no From:, From has no address, no body. An mbox \"From \"\n"
	 "first line is skipped; a header section that ends at the end of the file is a mail\n"
	 "without a body. Exits 1 if any file failed, 0 otherwise.",
	 0, 1, UINT_MAX, cmd_mail_parse, false},
	{"link", "MEMBER [--campaign ID] [--days N]", "print a member's signed link to the web view",
	 "Prints [Web] BaseUrl= followed by /c/CAMPAIGN/?m=MEMBER&e=EXPIRY&s=SIG: the member's\n"
	 "view of one campaign (rounds, digests, the answer form), signed with the secret key\n"
	 "(HMAC-SHA256 over member, campaign and expiry). It works until EXPIRY (unix seconds,\n"
	 "now plus --days); --days 0 gives a link that has already expired. Needs no running\n"
	 "cocod, only the configuration and the key. Anyone holding the link sees what the member\n"
	 "sees and can answer as them: send it to them alone. A new key invalidates every link.",
	 O(OPT_CAMPAIGN) | O(OPT_DAYS), 1, 1, cmd_link, false},
	{"keygen", "FILE", "write a new secret key (0600) for coco-key", NULL, 0, 1, 1, cmd_keygen,
	 false},
	{"status", "", "daemon state", NULL, 0, 0, 0, cmd_status, true},
	{"rounds", "[CAMPAIGN]", "rounds: state, next event, answered/total", NULL, 0, 0, 1,
	 cmd_rounds, true},
	{"open", "ROUND", "open a round now (ROUND is CAMPAIGN/ROUND, or ROUND if unique)", NULL, 0,
	 1, 1, cmd_round_action, true},
	{"close", "ROUND", "close an open round now and send its digest", NULL, 0, 1, 1,
	 cmd_round_action, true},
	{"remind", "ROUND [--force]", "send the next reminder to those who have not answered",
	 "Members invited or reminded (by schedule or by hand) less than 12 hours ago are skipped,\n"
	 "and listed with the reason, unless --force is given. A reminder by hand counts as the\n"
	 "member's next scheduled one; MaxReminders= bounds only the scheduled ones.",
	 O(OPT_FORCE), 1, 1, cmd_round_action, true},
	{"digest", "CAMPAIGN [ROUND]", "compile and send a digest now", NULL, 0, 1, 2, cmd_digest,
	 true},
	{"export", "CAMPAIGN [--format csv|json] [--history]", "every current answer, to stdout",
	 "CSV (RFC 4180, CRLF line ends) has one row per current answer: a later answer of the same\n"
	 "member to the same question supersedes the earlier one, which is left out unless\n"
	 "--history is given. Columns: campaign, round, occurrence, time (ISO 8601 in the\n"
	 "campaign's time zone, with its offset), member, side, question number, question id,\n"
	 "question text, value, status (current or superseded). A cell that starts with =, +, -,\n"
	 "@, a tab or a carriage return gets a leading ' so a spreadsheet does not run it as a\n"
	 "formula. JSON is every stored record as it is.",
	 O(OPT_FORMAT) | O(OPT_HISTORY), 1, 1, cmd_export, true},
	{"forget", "MEMBER",
	 "erase what coco keeps of a member: answers, digests, spool, the local channel's mail "
	 "(not mail on the IMAP server)", NULL, 0,
	 1, 1, cmd_forget, true},
	{"resubscribe", "MEMBER CAMPAIGN", "send a campaign's messages again to a member who unsubscribed",
	 "Undoes what the member's unsubscribe link (a mail's List-Unsubscribe) did: their address\n"
	 "gets the campaign's prompts, reminders and digests again. `cococtl status` lists who\n"
	 "unsubscribed. Written to the audit log.",
	 0, 2, 2, cmd_resubscribe, true},
	{"poll", "", "make connectors look for new messages now", NULL, 0, 0, 0, cmd_poll, true},
	{"help", "[COMMAND]", "this overview, or the help of COMMAND", NULL, 0, 0, 1, cmd_help,
	 false},
};

static const ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (STREQ(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage_line(FILE *f, const ctl_command *c)
{
	fprintf(f, "usage: cococtl [--config DIR]%s %s%s%s\n", c->daemon ? " [--socket PATH]" : "",
	        c->name, *c->args ? " " : "", c->args);
}

static void global_options(FILE *f)
{
	fputs("--config DIR   configuration directory (default " COCO_SYSCONFDIR ")\n"
	      "--socket PATH  control socket (default: ControlSocket= of the configuration)\n"
	      "--help         this overview; COMMAND --help (or cococtl help COMMAND): one command\n"
	      "--version      the version\n"
	      "Global options go before or after the command. Exit codes: 0 done, 1 failed, 2 usage\n"
	      "error.\n",
	      f);
}

static void usage(FILE *f)
{
	fputs("usage: cococtl [--config DIR] [--socket PATH] COMMAND [ARGS] [OPTIONS]\n\nOffline:\n", f);
	for (int daemon = 0; daemon < 2; daemon++) {
		if (daemon)
			fputs("Talking to cocod:\n", f);
		for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
			const ctl_command *c = &commands[i];
			if (c->daemon != daemon || STREQ(c->name, "help"))
				continue;
			_cleanup_free_ char *head = xasprintf("%s %s", c->name, c->args);
			if (strlen(head) <= 30)
				fprintf(f, "  %-30s %s\n", head, c->summary);
			else
				fprintf(f, "  %s\n  %-30s %s\n", head, "", c->summary);
		}
	}
	fputs("  help [COMMAND]                 this overview, or the help of COMMAND\n\n", f);
	global_options(f);
}

static void command_help(FILE *f, const ctl_command *c)
{
	usage_line(f, c);
	fprintf(f, "\n%c%s.\n", toupper((unsigned char)c->summary[0]), c->summary + 1);
	if (c->help)
		fprintf(f, "\n%s\n", c->help);
	if (c->opts) {
		fputs("\nOptions:\n", f);
		for (int k = 0; k < _OPT_MAX; k++)
			if (c->opts & O(k)) {
				_cleanup_free_ char *head = xasprintf("--%s%s%s", opt_defs[k].name,
				                                      opt_defs[k].arg ? " " : "",
				                                      opt_defs[k].arg ? opt_defs[k].arg : "");
				fprintf(f, "  %-26s %s\n", head, opt_defs[k].help);
			}
	}
	fputc('\n', f);
	global_options(f);
}

int ctl_usage_error(const char *name, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "cococtl%s%s: ", name ? " " : "", name ? name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	const ctl_command *c = name ? find_command(name) : NULL;
	if (c) {
		usage_line(stderr, c);
		fprintf(stderr, "(see cococtl help %s)\n", name);
	} else
		fputs("(see cococtl help)\n", stderr);
	return CTL_USAGE;
}

static int cmd_help(const ctl_args *a)
{
	if (a->n_pos == 0) {
		usage(stdout);
		return CTL_OK;
	}
	const ctl_command *c = find_command(a->pos[0]);
	if (!c)
		return ctl_usage_error("help", "unknown command \"%s\"", a->pos[0]);
	command_help(stdout, c);
	return CTL_OK;
}

/* An option that takes a value as the next argument, of any command (for finding the
 * command among the arguments). */
static bool takes_value(const char *a)
{
	if (STREQ(a, "-c") || STREQ(a, "-S") || STREQ(a, "--config") || STREQ(a, "--socket"))
		return true;
	for (int k = 0; k < _OPT_MAX; k++)
		if (opt_defs[k].arg && a[0] == '-' && a[1] == '-' && STREQ(a + 2, opt_defs[k].name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	channels_register_config();
	log_set_max_level(LOG_WARNING);
	/* Test builds only: $COCO_TEST_NOW, as cocod (see clock.h). */
	if (clock_init_from_env() < 0) {
		fprintf(stderr, "cococtl: the test clock (see clock.h) must be unix seconds\n");
		return 2;
	}

	/* Pass 1: which command. */
	const char *name = NULL;
	for (int i = 1; i < argc && !name; i++) {
		if (STREQ(argv[i], "--")) {
			if (i + 1 < argc)
				name = argv[i + 1];
			break;
		}
		if (argv[i][0] != '-' || !argv[i][1])
			name = argv[i];
		else if (takes_value(argv[i]))
			i++;
	}
	const ctl_command *cmd = name ? find_command(name) : NULL;

	/* Pass 2: every option, wherever it is, against the global ones and the command's. */
	struct option opts[4 + _OPT_MAX + 1] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
	};
	size_t n_opts = 4;
	for (int k = 0; cmd && k < _OPT_MAX; k++)
		if (cmd->opts & O(k))
			opts[n_opts++] = (struct option){opt_defs[k].name,
			                                 opt_defs[k].arg ? required_argument : no_argument,
			                                 NULL, 0x100 + k};
	ctl_args a = {.name = name};
	_cleanup_free_ char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
	bool help = false, seen_name = false;
	int c;
	opterr = 0;
	optind = 0;
	/* "-": arguments that are not options come back in order as 1; ":": a missing value
	 * comes back as ':'. */
	while ((c = getopt_long(argc, argv, "-:c:S:hV", opts, NULL)) >= 0) {
		switch (c) {
		case 1:
			if (!seen_name && name && STREQ(optarg, name))
				seen_name = true;
			else
				pos[a.n_pos++] = optarg;
			break;
		case 'c': arg_config = optarg; arg_config_given = true; break;
		case 'S': arg_socket = optarg; break;
		case 'h': help = true; break;
		case 'V': puts("cococtl " COCO_VERSION); return CTL_OK;
		case ':':
			return ctl_usage_error(cmd ? cmd->name : NULL, "option %s needs a value",
			                       argv[optind - 1]);
		case '?':
			if (optopt)
				return ctl_usage_error(cmd ? cmd->name : NULL, "unknown option -%c", optopt);
			return ctl_usage_error(cmd ? cmd->name : NULL, "unknown option %s",
			                       argv[optind - 1]);
		default:
			a.opt[c - 0x100] = optarg ? optarg : "";
		}
	}
	/* After "--": the command (if not seen yet) and plain arguments. */
	for (; optind < argc; optind++)
		if (!seen_name && name && STREQ(argv[optind], name))
			seen_name = true;
		else
			pos[a.n_pos++] = argv[optind];

	if (!name) {
		if (help) {
			usage(stdout);
			return CTL_OK;
		}
		usage(stderr);
		return CTL_USAGE;
	}
	if (!cmd) {
		fprintf(stderr, "cococtl: unknown command \"%s\" (see cococtl help)\n", name);
		return CTL_USAGE;
	}
	if (help) {
		command_help(stdout, cmd);
		return CTL_OK;
	}
	if (a.n_pos < cmd->min_pos)
		return ctl_usage_error(cmd->name, "missing argument");
	if (a.n_pos > cmd->max_pos)
		return ctl_usage_error(cmd->name, "unexpected argument \"%s\"", pos[cmd->max_pos]);
	a.pos = pos;
	return cmd->run(&a);
}
