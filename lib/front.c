#include <string.h>

#include "front.h"
#include "wire.h"

#define FRONT_PAYLOAD_MIN 5	/* type and id */

long
front_payload_length(const uint8_t hdr[FRONT_HEADER_LEN])
{
	uint32_t len = wire_load_u32(hdr);

	if (len < FRONT_PAYLOAD_MIN || len > FRONT_PAYLOAD_MAX)
		return (-1);
	return ((long)len);
}

int
front_decode(const uint8_t *payload, size_t len, struct front_msg *m)
{
	struct wire_reader r;

	memset(m, 0, sizeof(*m));
	if (len < FRONT_PAYLOAD_MIN || len > FRONT_PAYLOAD_MAX)
		return (-1);
	wire_reader_init(&r, payload, len);
	m->type = wire_get_u8(&r);
	m->id = wire_get_u32(&r);
	switch (m->type) {
	case FRONT_REQUEST:
		m->token = (const char *)wire_get_bytes(&r, TOKEN_LEN);
		if (relay_request_get(&r, &m->req))
			return (-1);
		break;
	case FRONT_ANSWER:
		if (relay_answer_get(&r, &m->ans))
			return (-1);
		break;
	case FRONT_STATS:
		break;
	case FRONT_STATS_ANSWER:
		m->text_len = wire_get_u16(&r);
		if (m->text_len > FRONT_STATS_MAX)
			return (-1);
		m->text = (const char *)wire_get_bytes(&r, m->text_len);
		break;
	case FRONT_METRICS:
		break;
	case FRONT_METRICS_ANSWER:
		m->text_len = wire_get_u32(&r);
		if (m->text_len > FRONT_METRICS_MAX)
			return (-1);
		m->text = (const char *)wire_get_bytes(&r, m->text_len);
		break;
	case FRONT_REFUSED:
		m->status = wire_get_u16(&r);
		break;
	default:
		return (-1);
	}
	return (wire_reader_end(&r));
}

/* Fill in the length header once the payload is written. */
static long
front_finish(struct wire_writer *w)
{
	long n = wire_writer_end(w);

	if (n < 0 || n - FRONT_HEADER_LEN > FRONT_PAYLOAD_MAX)
		return (-1);
	wire_store_u32(w->p, (uint32_t)(n - FRONT_HEADER_LEN));
	return (n);
}

static void
front_start(struct wire_writer *w, uint8_t *buf, size_t cap, uint8_t type,
    uint32_t id)
{
	wire_writer_init(w, buf, cap);
	wire_put_u32(w, 0);
	wire_put_u8(w, type);
	wire_put_u32(w, id);
}

long
front_encode_request(uint8_t *buf, size_t cap, uint32_t id,
    const char token[TOKEN_LEN], const struct relay_request *req)
{
	struct wire_writer w;

	front_start(&w, buf, cap, FRONT_REQUEST, id);
	wire_put_bytes(&w, token, TOKEN_LEN);
	relay_request_put(&w, req);
	return (front_finish(&w));
}

long
front_encode_answer(uint8_t *buf, size_t cap, uint32_t id,
    const struct relay_answer *ans)
{
	struct wire_writer w;

	front_start(&w, buf, cap, FRONT_ANSWER, id);
	relay_answer_put(&w, ans);
	return (front_finish(&w));
}

long
front_encode_stats(uint8_t *buf, size_t cap, uint32_t id)
{
	struct wire_writer w;

	front_start(&w, buf, cap, FRONT_STATS, id);
	return (front_finish(&w));
}

long
front_encode_stats_answer(uint8_t *buf, size_t cap, uint32_t id,
    const char *json, size_t len)
{
	struct wire_writer w;

	if (len > FRONT_STATS_MAX)
		return (-1);
	front_start(&w, buf, cap, FRONT_STATS_ANSWER, id);
	wire_put_u16(&w, (uint16_t)len);
	wire_put_bytes(&w, json, len);
	return (front_finish(&w));
}

long
front_encode_metrics(uint8_t *buf, size_t cap, uint32_t id)
{
	struct wire_writer w;

	front_start(&w, buf, cap, FRONT_METRICS, id);
	return (front_finish(&w));
}

long
front_encode_metrics_answer(uint8_t *buf, size_t cap, uint32_t id,
    const char *text, size_t len)
{
	struct wire_writer w;

	if (len > FRONT_METRICS_MAX)
		return (-1);
	front_start(&w, buf, cap, FRONT_METRICS_ANSWER, id);
	wire_put_u32(&w, (uint32_t)len);
	wire_put_bytes(&w, text, len);
	return (front_finish(&w));
}

long
front_encode_refused(uint8_t *buf, size_t cap, uint32_t id, uint16_t status)
{
	struct wire_writer w;

	front_start(&w, buf, cap, FRONT_REFUSED, id);
	wire_put_u16(&w, status);
	return (front_finish(&w));
}
