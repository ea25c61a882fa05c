/*
 * enroll.h: the device's side of enrolment.  The device makes its key
 * (DATADIR/tls/device.key, mode 0600, kept when it enrols again), sends a
 * certificate request with a one-time token over TLS to a collector whose
 * CA the token pins, and keeps the certificate and the CA it gets back
 * (dsync.h names the files).  The key never leaves the device.
 *
 * Offline, the same request goes on a stick: enroll_csr_write makes it,
 * the collector signs it (collectctl sign-csr), enroll_install keeps the
 * result.
 */
#ifndef ENROLL_H
#define ENROLL_H

#include <stddef.h>

/* Enrols dir's device over a link.  Runs its own loop; at most
   timeout_ms.  0 or -1 with err. */
int enroll_run(const char *dir, const char *device_id, const char *host,
    const char *port, const char *token, unsigned timeout_ms, char *err,
    size_t errlen);

/* Writes the device's certificate request (DER) to out, making the key
   when there is none.  0 or -1 with err. */
int enroll_csr_write(const char *dir, const char *device_id, const char *out,
    char *err, size_t errlen);

/* Checks a certificate and CA (DER or PEM files) against the device's key
   and id, then keeps them.  0 or -1 with err. */
int enroll_install(const char *dir, const char *device_id,
    const char *cert_path, const char *ca_path, char *err, size_t errlen);

#endif
