/* Unit tests: NOTIFY out and the answer to NOTIFY in (xfr/notify.c), against a fake
 * secondary on a loopback UDP socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>

#include "dns/log.h"
#include "dns/tsig.h"
#include "xfr/notify.h"
#include "xfr_util.h"

static const char *const zone_text[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 7 3600 900 604800 300",
	"example.test. 3600 NS ns1.example.test.",
};

/* The fake secondary. */
static struct {
	int fd;
	struct sockaddr_in addr;
	unsigned received;
	unsigned drop;        /* datagrams to ignore before answering */
	bool answer;          /* answer at all */
	bool wrong_id;        /* answer first with another ID */
	bool sign;            /* verify the request's TSIG and sign the answer */
	bool unsigned_answer; /* ... but answer unsigned */
	tsig_keyring_t ring;
	uint32_t last_serial;
	/* results */
	unsigned ndone;
	int rcode[8];
	uint32_t serial[8];
	unsigned expect;
	struct event_base *base;
} sec;

static void on_done(void *ud, const uint8_t *apex, uint32_t serial, const struct sockaddr *addr,
		    int rcode)
{
	assert_true(dname_equal(apex, (const uint8_t *)"\7example\4test"));
	assert_int_equal(addr->sa_family, AF_INET);
	sec.rcode[sec.ndone] = rcode;
	sec.serial[sec.ndone] = serial;
	if (++sec.ndone >= sec.expect && sec.expect > 0) {
		event_base_loopexit(sec.base, NULL);
	}
}

static void on_secondary(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[2048], out[2048];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	dns_request_t req;
	tsig_ctx_t ctx;
	size_t len;

	assert_true(n > 0);
	sec.received++;
	assert_int_equal(dns_request_parse(&req, buf, (size_t)n), E_OK);
	assert_int_equal(req.opcode, OPCODE_NOTIFY);
	assert_true(req.flags & DNS_FLAG_AA);
	assert_false(req.flags & DNS_FLAG_QR);
	assert_int_equal(req.qtype, RR_SOA);
	assert_int_equal(req.ancount, 1);
	assert_true(dname_equal(req.qname, (const uint8_t *)"\7example\4test"));
	/* the serial of the SOA in the answer section: its RDATA ends 20 octets before the end
	 * of the record */
	sec.last_serial = dns_u32(buf + (req.tsig_pos ? req.tsig_pos : (size_t)n) - 20);
	if (sec.sign) {
		assert_int_equal(tsig_request_verify(&ctx, &sec.ring, &req, buf, (size_t)n,
						     (uint64_t)time(NULL)),
				 E_OK);
	} else {
		assert_int_equal(req.tsig_pos, 0);
	}
	if (!sec.answer || sec.received <= sec.drop) {
		return;
	}
	len = xfr_notify_answer(out, sizeof(out), &req, RCODE_NOERROR, 200);
	assert_true(len > DNS_HDR_LEN);
	if (sec.sign && !sec.unsigned_answer) {
		assert_int_equal(tsig_sign(&ctx, out, &len, sizeof(out), (uint64_t)time(NULL)),
				 E_OK);
	}
	if (sec.wrong_id) {
		dns_put16(out, (uint16_t)(dns_u16(out) + 1));
		sendto(fd, out, len, 0, (struct sockaddr *)&from, flen);
		dns_put16(out, (uint16_t)(dns_u16(out) - 1));
	}
	sendto(fd, out, len, 0, (struct sockaddr *)&from, flen);
}

static zone_t *zone;
static xfr_notify_t *notifier;
static struct event *sec_ev;

static int setup(void **state)
{
	socklen_t alen = sizeof(sec.addr);

	memset(&sec, 0, sizeof(sec));
	sec.answer = true;
	zone = zu_build("example.test.", zone_text, 2);
	sec.base = event_base_new();
	sec.fd = socket(AF_INET, SOCK_DGRAM, 0);
	sec.addr.sin_family = AF_INET;
	sec.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(sec.fd, (struct sockaddr *)&sec.addr, sizeof(sec.addr)), 0);
	assert_int_equal(getsockname(sec.fd, (struct sockaddr *)&sec.addr, &alen), 0);
	sec_ev = event_new(sec.base, sec.fd, EV_READ | EV_PERSIST, on_secondary, NULL);
	event_add(sec_ev, NULL);
	tsig_keyring_init(&sec.ring);
	assert_int_equal(xfr_notify_new(&notifier, sec.base, on_done, NULL), E_OK);
	xfr_notify_set_retry(notifier, 20, 3);
	return 0;
}

static int teardown(void **state)
{
	xfr_notify_free(notifier);
	event_free(sec_ev);
	close(sec.fd);
	event_base_free(sec.base);
	tsig_keyring_deinit(&sec.ring);
	zone_free(zone);
	return 0;
}

static xfr_notify_target_t target(void)
{
	xfr_notify_target_t t;
	char str[64];

	snprintf(str, sizeof(str), "127.0.0.1:%u", ntohs(sec.addr.sin_port));
	assert_int_equal(xfr_notify_target_parse(&t, str, 53), E_OK);
	return t;
}

static void loop(unsigned expect)
{
	struct timeval limit = { 5, 0 };

	sec.expect = expect;
	event_base_loopexit(sec.base, &limit);
	event_base_dispatch(sec.base);
	assert_int_equal(sec.ndone, expect);
}

static void test_ack_after_loss(void **state)
{
	xfr_notify_target_t t = target();

	sec.drop = 1;
	sec.wrong_id = true;
	assert_int_equal(xfr_notify_zone(notifier, zone, &t, 1), E_OK);
	assert_int_equal(xfr_notify_pending(notifier), 1);
	loop(1);
	assert_int_equal(sec.rcode[0], RCODE_NOERROR);
	assert_int_equal(sec.serial[0], 7);
	assert_int_equal(sec.last_serial, 7);
	assert_int_equal(sec.received, 2);
	assert_int_equal(xfr_notify_pending(notifier), 0);
}

static void test_give_up(void **state)
{
	xfr_notify_target_t t = target();

	sec.answer = false;
	assert_int_equal(xfr_notify_zone(notifier, zone, &t, 1), E_OK);
	loop(1);
	assert_int_equal(sec.rcode[0], -ETIMEDOUT);
	assert_int_equal(sec.received, 3);
}

static void test_supersede(void **state)
{
	xfr_notify_target_t t = target();
	zone_t *z2;
	static const char *const newer[] = {
		"example.test. 3600 SOA ns1.example.test. h.example.test. 8 3600 900 604800 300",
		"example.test. 3600 NS ns1.example.test.",
	};

	sec.answer = false;
	assert_int_equal(xfr_notify_zone(notifier, zone, &t, 1), E_OK);
	z2 = zu_build("example.test.", newer, 2);
	sec.answer = true;
	sec.drop = 1; /* the datagram of serial 7 */
	assert_int_equal(xfr_notify_zone(notifier, z2, &t, 1), E_OK);
	assert_int_equal(sec.ndone, 1);
	assert_int_equal(sec.rcode[0], -ECANCELED);
	assert_int_equal(sec.serial[0], 7);
	assert_int_equal(xfr_notify_pending(notifier), 1);
	zone_free(z2); /* the notifier keeps no reference */
	loop(2);
	assert_int_equal(sec.rcode[1], RCODE_NOERROR);
	assert_int_equal(sec.serial[1], 8);
	assert_int_equal(sec.last_serial, 8);
}

static void test_tsig(void **state)
{
	xfr_notify_target_t t = target();
	tsig_key_t key;

	assert_int_equal(tsig_key_set(&key, "notify.key", "hmac-sha256", "c2VjcmV0c2VjcmV0"), E_OK);
	assert_int_equal(tsig_keyring_add(&sec.ring, &key), E_OK);
	t.key = &key;
	sec.sign = true;
	assert_int_equal(xfr_notify_zone(notifier, zone, &t, 1), E_OK);
	tsig_key_wipe(&key); /* copied */
	loop(1);
	assert_int_equal(sec.rcode[0], RCODE_NOERROR);
	assert_int_equal(sec.received, 1);
}

/* An answer that is not signed with the key is ignored: the tries run out. */
static void test_tsig_unsigned_answer(void **state)
{
	xfr_notify_target_t t = target();
	tsig_key_t key;

	assert_int_equal(tsig_key_set(&key, "notify.key", "hmac-sha256", "c2VjcmV0c2VjcmV0"), E_OK);
	assert_int_equal(tsig_keyring_add(&sec.ring, &key), E_OK);
	t.key = &key;
	sec.sign = true;
	sec.unsigned_answer = true;
	assert_int_equal(xfr_notify_zone(notifier, zone, &t, 1), E_OK);
	tsig_key_wipe(&key);
	loop(1);
	assert_int_equal(sec.rcode[0], -ETIMEDOUT);
	assert_int_equal(sec.received, 3);
}

static void test_target_parse(void **state)
{
	xfr_notify_target_t t;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&t.addr;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&t.addr;

	assert_int_equal(xfr_notify_target_parse(&t, "192.0.2.1", 53), E_OK);
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 53);
	assert_int_equal(xfr_notify_target_parse(&t, "192.0.2.1:5300", 53), E_OK);
	assert_int_equal(ntohs(in->sin_port), 5300);
	assert_int_equal(xfr_notify_target_parse(&t, "[2001:db8::1]:5353", 53), E_OK);
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 5353);
	assert_int_equal(xfr_notify_target_parse(&t, "2001:db8::1", 53), E_OK);
	assert_int_equal(ntohs(in6->sin6_port), 53);
	assert_int_equal(xfr_notify_target_parse(&t, "[2001:db8::1]", 53), E_OK);
	assert_int_equal(xfr_notify_target_parse(&t, "192.0.2.1:0", 53), -EINVAL);
	assert_int_equal(xfr_notify_target_parse(&t, "192.0.2.1:70000", 53), -EINVAL);
	assert_int_equal(xfr_notify_target_parse(&t, "host.example:53", 53), -EINVAL);
	assert_int_equal(xfr_notify_target_parse(&t, "[2001:db8::1", 53), -EINVAL);
	assert_int_equal(xfr_notify_target_parse(&t, "", 53), -EINVAL);
}

static void test_answer(void **state)
{
	uint8_t q[512], r[512];
	dns_request_t req;
	dns_writer_t w;
	size_t qlen, len;

	memset(&req, 0, sizeof(req));
	req.id = 99;
	req.opcode = OPCODE_NOTIFY;
	memcpy(req.qname, "\7example\4test", 14);
	req.qname_len = 14;
	req.qtype = RR_SOA;
	req.qclass = CLASS_IN;
	assert_int_equal(dns_writer_begin(&w, q, sizeof(q), &req), E_OK);
	dns_writer_flags(&w, DNS_FLAG_AA, DNS_FLAG_QR);
	qlen = dns_writer_finish(&w);
	assert_int_equal(dns_request_parse(&req, q, qlen), E_OK);

	len = xfr_notify_answer(r, sizeof(r), &req, RCODE_NOTAUTH, 0);
	assert_int_equal(len, qlen);
	assert_int_equal(dns_u16(r), 99);
	assert_int_equal(DNS_OPCODE(dns_u16(r + 2)), OPCODE_NOTIFY);
	assert_int_equal(DNS_RCODE(dns_u16(r + 2)), RCODE_NOTAUTH);
	assert_true(dns_u16(r + 2) & DNS_FLAG_QR);
	assert_false(dns_u16(r + 2) & DNS_FLAG_AA);
	assert_int_equal(dns_u16(r + 4), 1);
	assert_memory_equal(r + DNS_HDR_LEN, q + DNS_HDR_LEN, qlen - DNS_HDR_LEN);
	len = xfr_notify_answer(r, sizeof(r), &req, RCODE_NOERROR, 0);
	assert_true(dns_u16(r + 2) & DNS_FLAG_AA);
	/* no room for the TSIG the caller wants to add */
	assert_int_equal(xfr_notify_answer(r, qlen + 10, &req, RCODE_NOTAUTH, 100), 0);
	assert_int_equal(xfr_notify_answer(r, 5, &req, RCODE_NOTAUTH, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ack_after_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_supersede, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tsig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tsig_unsigned_answer, setup, teardown),
		cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_answer),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
