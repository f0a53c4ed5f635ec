/*
 * --nats: the binding rules over the cluster's JetStream KV bucket.  The
 * blocking KV calls run here, on one worker thread, one job at a time; a
 * job is queued by the loop (cluster_bind) and handed back through the
 * same queue-and-eventfd as nats.c's messages (cluster_job_done).  Only
 * create-only writes decide a binding or a revocation: see
 * docs/scale-out.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cluster.h"
#include "cluster_int.h"
#include "log.h"

static kvStore *
worker_bucket(struct cluster *c, int replicas)
{
	kvStore *kv = NULL;
	char why[160];
	kvConfig kc;
	jsOptions jo;
	natsStatus s;

	if (natsConnection_Status(c->nc) != NATS_CONN_STATUS_CONNECTED)
		return (NULL);
	if (c->js == NULL) {
		jsOptions_Init(&jo);
		jo.Wait = KV_WAIT_MS;
		if (natsConnection_JetStream(&c->js, c->nc, &jo) != NATS_OK)
			return (NULL);
	}
	kvConfig_Init(&kc);
	kc.Bucket = BUCKET;
	kc.History = 1;
	kc.Replicas = replicas;
	kc.StorageType = js_FileStorage;
	s = js_CreateKeyValue(&kv, c->js, &kc);
	if (s != NATS_OK) {
		/* Why the create failed (the bind below would overwrite it). */
		snprintf(why, sizeof(why), "%s", nats_GetLastError(NULL));
		s = js_KeyValue(&kv, c->js, BUCKET);
	}
	if (s != NATS_OK) {
		if (++c->kv_logged % 10 == 1)
			log_warn_ev("cluster.kv", "cluster: KV bucket not available yet "
			    "(attempt %d): %s", c->kv_logged, why);
		return (NULL);
	}
	log_info_ev("cluster.kv", "cluster: KV bucket %s bound (%d replicas)", BUCKET,
	    replicas);
	return (kv);
}

/* Create ${key} = ${val}; 1 if it now holds ${val} (created here or
 * earlier with the same value), 0 if it holds something else, -1 if the
 * store could not tell.  A failed create is read back, because a create
 * that timed out may have been committed all the same. */
static int
kv_create_same(kvStore *kv, const char *key, const char *val)
{
	kvEntry *e = NULL;
	size_t len = strlen(val);
	int same;

	if (kvStore_Create(NULL, kv, key, val, (int)len) == NATS_OK)
		return (1);
	if (kvStore_Get(&e, kv, key) != NATS_OK)
		return (-1);
	same = kvEntry_ValueLen(e) == (int)len &&
	    memcmp(kvEntry_Value(e), val, len) == 0;
	kvEntry_Destroy(e);
	return (same);
}

/* Revoke the token whose KV name is ${k_rev} (create-only, idempotent). */
static int
kv_revoke(kvStore *kv, const char *k_rev)
{
	kvEntry *e = NULL;

	if (kvStore_Create(NULL, kv, k_rev, "1", 1) == NATS_OK)
		return (0);
	if (kvStore_Get(&e, kv, k_rev) != NATS_OK)
		return (-1);
	kvEntry_Destroy(e);
	return (0);
}

/* The binding rules of design §6 over the KV bucket, create-only. */
static int
worker_run(struct cluster *c, kvStore *kv, struct cluster_job *j)
{
	char k_old[KEY_MAX], subj[KEY_MAX + 16];
	const char *v;
	kvEntry *e = NULL;
	natsStatus s;
	int rc;

	s = kvStore_Get(&e, kv, j->k_rev);
	if (s == NATS_OK) {
		kvEntry_Destroy(e);
		return (LM_REFUSED_REVOKED);
	}
	if (s != NATS_NOT_FOUND)
		return (LM_REFUSED_CLUSTER);
	if ((rc = kv_create_same(kv, j->k_bind, j->v_dev)) != 1)
		return (rc == 0 ? LM_REFUSED_BOUND : LM_REFUSED_CLUSTER);
	if (j->k_oldrev[0] != '\0') {
		if (kv_revoke(kv, j->k_oldrev))
			return (LM_REFUSED_CLUSTER);
	} else {
		/* A token regenerated while offline: the device's previous
		 * token, wherever it was registered, is revoked now, and a
		 * session of it still open on another broker is ended. */
		s = kvStore_Get(&e, kv, j->k_dev);
		if (s == NATS_OK) {
			rc = 0;
			v = kvEntry_Value(e);
			if (kvEntry_ValueLen(e) == CUR_LEN &&
			    memcmp(v, j->v_cur, HASH_HEX) != 0) {
				snprintf(k_old, sizeof(k_old), "r.%.*s",
				    HASH_HEX, v);
				rc = kv_revoke(kv, k_old);
				snprintf(subj, sizeof(subj), "%s%.*s", SUBJ_DEV,
				    HASH_HEX, v + HASH_HEX + 1);
				if (rc == 0)
					(void)natsConnection_Publish(c->nc, subj,
					    "R", 1);
			}
			kvEntry_Destroy(e);
			if (rc)
				return (LM_REFUSED_CLUSTER);
		} else if (s != NATS_NOT_FOUND)
			return (LM_REFUSED_CLUSTER);
	}
	if (kvStore_Put(NULL, kv, j->k_dev, j->v_cur, CUR_LEN) != NATS_OK)
		return (LM_REFUSED_CLUSTER);
	return (LM_OK);
}

/**
 * cluster_worker_main(b):
 * The KV worker thread (cluster_kv.c): runs jobs until c->quit.
 */
void *
cluster_worker_main(void *arg)
{
	struct broker *b = arg;
	struct cluster *c = b->cluster;
	struct cluster_job *j;
	struct timespec ts;
	kvStore *kv;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		while (!c->quit && c->j_head == NULL && c->kv != NULL)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->quit && c->j_head == NULL && c->kv == NULL) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			(void)pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		}
		if (c->quit) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		if ((j = c->j_head) != NULL) {
			c->j_head = j->next;
			if (c->j_head == NULL)
				c->j_tail = NULL;
		}
		kv = c->kv;
		pthread_mutex_unlock(&c->mu);
		if (kv == NULL && (kv = worker_bucket(c,
		    b->cfg.kv_replicas)) != NULL) {
			pthread_mutex_lock(&c->mu);
			c->kv = kv;
			c->kv_ready = 1;
			c->state_changed = 1;
			pthread_mutex_unlock(&c->mu);
			cluster_wake(c);
		}
		if (j == NULL)
			continue;
		j->result = kv ? worker_run(c, kv, j) : LM_REFUSED_CLUSTER;
		pthread_mutex_lock(&c->mu);
		j->next = NULL;
		if (c->d_tail)
			c->d_tail->next = j;
		else
			c->d_head = j;
		c->d_tail = j;
		pthread_mutex_unlock(&c->mu);
		cluster_wake(c);
	}
	return (NULL);
}

/**
 * cluster_job_done(b, j):
 * On the loop thread: hand the result of ${j} to its agent (if it is
 * still there) and free ${j}.
 */
void
cluster_job_done(struct broker *b, struct cluster_job *j)
{
	struct cluster *c = b->cluster;
	struct agent *a = j->agent;

	c->jobs--;
	if (j->result == LM_REFUSED_CLUSTER)
		c->st.kv_failed++;
	if (a != NULL) {
		a->job = NULL;
		if (j->rotation)
			agent_rotate_done(b, a, j->th, j->result);
		else
			agent_bind_done(b, a, j->result);
	}
	free(j);
}

static void
kv_name(char *out, const struct cluster *c, char prefix, char tag,
    const uint8_t h[TOKEN_HASH_LEN])
{
	uint8_t d[TOKEN_HASH_LEN];
	char x[HASH_HEX + 1];

	cluster_derive(d, c->kv_key, tag, h);
	cluster_hex(x, d, TOKEN_HASH_LEN);
	if (prefix)
		snprintf(out, KEY_MAX, "%c.%s", prefix, x);
	else
		memcpy(out, x, HASH_HEX + 1);
}

int
cluster_bind(struct broker *b, struct agent *a,
    const uint8_t token_hash[TOKEN_HASH_LEN], const uint8_t *old_hash)
{
	struct cluster *c = b->cluster;
	uint8_t route[TOKEN_HASH_LEN];
	struct cluster_job *j;

	if (!cluster_up(b) || c->jobs >= JOBS_MAX) {
		c->st.refused_cluster++;
		return (LM_REFUSED_CLUSTER);
	}
	if (a->job != NULL)
		return (LM_REFUSED_ERROR);	/* one at a time; retry */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (LM_REFUSED_ERROR);
	j->agent = a;
	memcpy(j->th, token_hash, TOKEN_HASH_LEN);
	j->rotation = old_hash != NULL;
	kv_name(j->k_rev, c, 'r', 't', token_hash);
	kv_name(j->k_bind, c, 't', 't', token_hash);
	kv_name(j->k_dev, c, 'd', 'd', a->device_hash);
	/* d.<d> holds the token's KV name and its route: "<t>:<route>". */
	kv_name(j->v_cur, c, 0, 't', token_hash);
	cluster_derive(route, c->route_key, 'r', token_hash);
	j->v_cur[HASH_HEX] = ':';
	cluster_hex(j->v_cur + HASH_HEX + 1, route, TOKEN_HASH_LEN);
	kv_name(j->v_dev, c, 0, 'd', a->device_hash);
	if (old_hash != NULL)
		kv_name(j->k_oldrev, c, 'r', 't', old_hash);
	a->job = j;
	c->jobs++;
	pthread_mutex_lock(&c->mu);
	if (c->j_tail)
		c->j_tail->next = j;
	else
		c->j_head = j;
	c->j_tail = j;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return (0);
}

int
cluster_revoke(const char *urls, const uint8_t hash_key[32],
    const uint8_t token_hash[TOKEN_HASH_LEN], const char **why)
{
	struct cluster *c;
	uint8_t route[TOKEN_HASH_LEN];
	char key[KEY_MAX], subj[80];
	kvStore *kv = NULL;
	jsOptions jo;
	natsStatus s;
	int rc = -1;

	*why = "out of memory";
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (-1);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->conn.fd = -1;	/* no loop to wake: on_state's write fails */
	cluster_subkeys(c, hash_key);
	*why = "cannot reach NATS";
	if (cluster_set_options(c, urls) ||
	    natsOptions_SetRetryOnFailedConnect(c->opts, false, NULL, NULL) ||
	    natsConnection_Connect(&c->nc, c->opts) != NATS_OK)
		goto out;
	jsOptions_Init(&jo);
	jo.Wait = KV_WAIT_MS;
	*why = "the cluster's KV bucket is not available";
	if (natsConnection_JetStream(&c->js, c->nc, &jo) != NATS_OK ||
	    (s = js_KeyValue(&kv, c->js, BUCKET)) != NATS_OK)
		goto out;
	kv_name(key, c, 'r', 't', token_hash);
	*why = "the KV bucket did not store the revocation";
	if (kv_revoke(kv, key))
		goto out;
	/* The holder, wherever it is, ends the session. */
	cluster_derive(route, c->route_key, 'r', token_hash);
	cluster_subject(subj, sizeof(subj), route);
	*why = "revoked, but the holder could not be told";
	if (natsConnection_Publish(c->nc, subj, "R", 1) != NATS_OK ||
	    natsConnection_FlushTimeout(c->nc, KV_WAIT_MS) != NATS_OK)
		goto out;
	rc = 0;
out:
	kvStore_Destroy(kv);
	jsCtx_Destroy(c->js);
	if (c->nc != NULL) {
		natsConnection_Close(c->nc);
		natsConnection_Destroy(c->nc);
	}
	natsOptions_Destroy(c->opts);
	(void)nats_CloseAndWait(2000);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	sodium_memzero(c->route_key, sizeof(c->route_key));
	sodium_memzero(c->kv_key, sizeof(c->kv_key));
	free(c);
	return (rc);
}
