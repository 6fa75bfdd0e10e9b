#ifndef LIAISON_COPENSSL_SHIM_H
#define LIAISON_COPENSSL_SHIM_H

#include <openssl/err.h>
#include <openssl/ssl.h>

// OpenSSL's setters below are macros, which Swift does not import.

static inline int liaison_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline int liaison_ssl_ctx_set_max_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_max_proto_version(context, TLS1_2_VERSION);
}

/// A write retried after SSL_ERROR_WANT_WRITE may come from another address holding the same bytes.
static inline void liaison_ssl_ctx_accept_moving_write_buffer(SSL_CTX *context) {
    SSL_CTX_set_mode(context, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

/// Reads as much as the socket has in one call, not a record's header and then its body.
static inline void liaison_ssl_ctx_read_ahead(SSL_CTX *context) {
    SSL_CTX_set_read_ahead(context, 1);
}

#endif
