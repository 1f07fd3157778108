/* Shared by imap.c and imap-tls.c only. */
#pragma once

#include <libetpan/libetpan.h>

/* For mailstream_ssl_open_with_callback_timeout() / mailimap_socket_starttls_with_callback():
 * sets SNI to data (a host name; IP literals get none, as RFC 6066 wants). */
void imap_tls_sni(struct mailstream_ssl_context *ctx, void *data);

/* Verifies the peer chain of a TLS stream against ca_file (PEM; NULL: the system trust
 * store) and host (a DNS name, or an IP literal matched against IP SANs), for a TLS server.
 * Returns 0, or -EPERM with *ret_error (malloc'd) saying why the peer is not trusted, or
 * another -errno with *ret_error. */
int imap_tls_verify(mailstream *s, const char *host, const char *ca_file, char **ret_error);
