#include <string.h>

#include "linkmsg.h"
#include "wire.h"

static int
linkmsg_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return (0);
	return (1);
}

int
linkmsg_decode(const uint8_t *p, size_t len, struct linkmsg *m)
{
	struct wire_reader r;

	memset(m, 0, sizeof(*m));
	wire_reader_init(&r, p, len);
	m->type = wire_get_u8(&r);
	switch (m->type) {
	case LM_REGISTER:
	case LM_ROTATE:
		m->version = wire_get_u8(&r);
		m->token = (const char *)wire_get_bytes(&r, TOKEN_LEN);
		break;
	case LM_WELCOME:
	case LM_ROTATED:
		m->result = wire_get_u8(&r);
		m->url_len = wire_get_u16(&r);
		if (m->result >= LM_RESULT_COUNT ||
		    m->url_len > LINKMSG_URL_MAX)
			return (-1);
		m->url = (const char *)wire_get_bytes(&r, m->url_len);
		break;
	case LM_PING:
	case LM_PONG:
		break;
	case LM_REQUEST:
		m->id = wire_get_u32(&r);
		m->deadline_ms = wire_get_u32(&r);
		if (relay_request_get(&r, &m->req))
			return (-1);
		break;
	case LM_ANSWER:
		m->id = wire_get_u32(&r);
		if (relay_answer_get(&r, &m->ans))
			return (-1);
		break;
	case LM_CLOCK:
		m->reachable = wire_get_u8(&r);
		m->fw_len = wire_get_u8(&r);
		if (m->reachable > 1 || m->fw_len > LINKMSG_VERSION_MAX)
			return (-1);
		m->fw = (const char *)wire_get_bytes(&r, m->fw_len);
		if (m->fw != NULL && !linkmsg_printable(m->fw, m->fw_len))
			return (-1);
		break;
	default:
		return (-1);
	}
	return (wire_reader_end(&r));
}

long
linkmsg_encode_register(uint8_t *buf, size_t cap, uint8_t type,
    const char token[TOKEN_LEN])
{
	struct wire_writer w;

	wire_writer_init(&w, buf, cap);
	wire_put_u8(&w, type);
	wire_put_u8(&w, LINK_VERSION);
	wire_put_bytes(&w, token, TOKEN_LEN);
	return (wire_writer_end(&w));
}

long
linkmsg_encode_result(uint8_t *buf, size_t cap, uint8_t type, uint8_t result,
    const char *url, size_t url_len)
{
	struct wire_writer w;

	if (url == NULL)
		url_len = 0;
	if (url_len > LINKMSG_URL_MAX)
		return (-1);
	wire_writer_init(&w, buf, cap);
	wire_put_u8(&w, type);
	wire_put_u8(&w, result);
	wire_put_u16(&w, (uint16_t)url_len);
	wire_put_bytes(&w, url, url_len);
	return (wire_writer_end(&w));
}

long
linkmsg_encode_empty(uint8_t *buf, size_t cap, uint8_t type)
{
	struct wire_writer w;

	wire_writer_init(&w, buf, cap);
	wire_put_u8(&w, type);
	return (wire_writer_end(&w));
}

long
linkmsg_encode_request(uint8_t *buf, size_t cap, uint32_t id,
    uint32_t deadline_ms, const struct relay_request *req)
{
	struct wire_writer w;

	wire_writer_init(&w, buf, cap);
	wire_put_u8(&w, LM_REQUEST);
	wire_put_u32(&w, id);
	wire_put_u32(&w, deadline_ms);
	relay_request_put(&w, req);
	return (wire_writer_end(&w));
}

long
linkmsg_encode_answer(uint8_t *buf, size_t cap, uint32_t id,
    const struct relay_answer *ans)
{
	struct wire_writer w;

	wire_writer_init(&w, buf, cap);
	wire_put_u8(&w, LM_ANSWER);
	wire_put_u32(&w, id);
	relay_answer_put(&w, ans);
	return (wire_writer_end(&w));
}

long
linkmsg_encode_clock(uint8_t *buf, size_t cap, int reachable,
    const char *version)
{
	struct wire_writer w;
	size_t n = version ? strlen(version) : 0;

	if (n > LINKMSG_VERSION_MAX || !linkmsg_printable(version, n))
		return (-1);
	wire_writer_init(&w, buf, cap);
	wire_put_u8(&w, LM_CLOCK);
	wire_put_u8(&w, reachable ? 1 : 0);
	wire_put_u8(&w, (uint8_t)n);
	wire_put_bytes(&w, version, n);
	return (wire_writer_end(&w));
}

const char *
linkmsg_result_text(int result)
{
	static const char *const text[LM_RESULT_COUNT] = {
		"accepted",
		"refused: this token is bound to another device key",
		"refused: this token has been revoked",
		"refused: protocol version not supported by the broker",
		"refused: malformed token",
		"refused: too many token rotations today",
		"refused: the broker could not store the registration",
		"refused: too many new registrations right now; retrying later",
		"refused: the broker is full (--max-devices); try another broker",
		[LM_REFUSED_CLUSTER] = "refused: the broker cannot reach its "
		    "cluster; trying another broker"
	};

	if (result < 0 || result >= LM_RESULT_COUNT || text[result] == NULL)
		return ("unknown result");
	return (text[result]);
}
