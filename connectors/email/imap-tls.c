/* imap-tls: coco's own check of an IMAP server's certificate. libetpan 1.9.4 is built with
 * GnuTLS on Debian and completes any handshake without looking at the certificate, so the
 * chain the peer sent (mailstream_get_certificate_chain(), DER) is verified here, before
 * anything secret is sent: trusted by the CA file or the system store, valid now, for a TLS
 * server, and for the host name (or IP address) the configuration names. */
#define _GNU_SOURCE

#include "email/imap-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* More than any real chain; a peer sending more gets refused. */
#define IMAP_TLS_MAX_CHAIN 16

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

void imap_tls_sni(struct mailstream_ssl_context *ctx, void *data)
{
	char *host = data;

	if (host && !is_ip_literal(host))
		(void)mailstream_ssl_set_server_name(ctx, host);
}

static int load_trust(gnutls_x509_trust_list_t list, const char *ca_file, char **ret_error)
{
	int n;

	if (ca_file) {
		n = gnutls_x509_trust_list_add_trust_file(list, ca_file, NULL,
		                                          GNUTLS_X509_FMT_PEM, 0, 0);
		if (n <= 0) {
			*ret_error = xasprintf("no CA certificate could be read from %s%s%s",
			                       ca_file, n < 0 ? ": " : "",
			                       n < 0 ? gnutls_strerror(n) : "");
			return -EINVAL;
		}
	} else {
		n = gnutls_x509_trust_list_add_system_trust(list, 0, 0);
		if (n <= 0) {
			*ret_error = xstrdup("the system trust store holds no CA certificate "
			                     "(set a CA file)");
			return -EINVAL;
		}
	}
	return 0;
}

int imap_tls_verify(mailstream *s, const char *host, const char *ca_file, char **ret_error)
{
	gnutls_x509_trust_list_t list = NULL;
	gnutls_x509_crt_t crts[IMAP_TLS_MAX_CHAIN] = {0};
	unsigned n = 0, status = 0;
	carray *chain;
	int r, g;

	/* libetpan's GnuTLS build returns garbage for a session without certificates; with
	 * certificate credentials and its "NORMAL" priorities a server always sends one. */
	chain = mailstream_get_certificate_chain(s);
	if (!chain || carray_count(chain) == 0) {
		*ret_error = xstrdup("the server sent no certificate");
		r = -EPERM;
		goto out;
	}
	if (carray_count(chain) > IMAP_TLS_MAX_CHAIN) {
		*ret_error = xasprintf("the server sent a chain of %u certificates",
		                       carray_count(chain));
		r = -EPERM;
		goto out;
	}
	for (n = 0; n < carray_count(chain); n++) {
		MMAPString *der = carray_get(chain, n);
		gnutls_datum_t d = {.data = (unsigned char *)der->str, .size = (unsigned)der->len};

		g = gnutls_x509_crt_init(&crts[n]);
		if (g >= 0)
			g = gnutls_x509_crt_import(crts[n], &d, GNUTLS_X509_FMT_DER);
		if (g < 0) {
			n++;
			*ret_error = xasprintf("the server's certificate cannot be read: %s",
			                       gnutls_strerror(g));
			r = -EPERM;
			goto out;
		}
	}

	g = gnutls_x509_trust_list_init(&list, 0);
	if (g < 0) {
		*ret_error = xasprintf("GnuTLS: %s", gnutls_strerror(g));
		r = -ENOMEM;
		goto out;
	}
	r = load_trust(list, ca_file, ret_error);
	if (r < 0)
		goto out;

	gnutls_typed_vdata_st vdata[] = {
		{.type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *)host},
		{.type = GNUTLS_DT_KEY_PURPOSE_OID, .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER},
	};
	g = gnutls_x509_trust_list_verify_crt2(list, crts, n, vdata, ELEMENTSOF(vdata), 0,
	                                       &status, NULL);
	if (g < 0) {
		*ret_error = xasprintf("certificate verification failed: %s", gnutls_strerror(g));
		r = -EPERM;
		goto out;
	}
	if (status != 0) {
		gnutls_datum_t text = {0};

		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text,
		                                                 0) >= 0 && text.data) {
			*ret_error = xasprintf("certificate of %s not trusted: %s", host,
			                       (char *)text.data);
			gnutls_free(text.data);
		} else {
			*ret_error = xasprintf("certificate of %s not trusted (status 0x%x)", host,
			                       status);
		}
		r = -EPERM;
		goto out;
	}
	r = 0;
out:
	for (unsigned i = 0; i < n; i++)
		if (crts[i])
			gnutls_x509_crt_deinit(crts[i]);
	if (list)
		gnutls_x509_trust_list_deinit(list, 1);
	if (chain)
		mailstream_certificate_chain_free(chain);
	return r;
}
