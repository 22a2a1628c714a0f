/* notify_webhook.c: the generic webhook receives the notice itself (see
 * docs/alerts.md for its fields), so a script gets everything anomalyd
 * knows about the event. */
#include "json.h"
#include "notify/notify.h"

#include <errno.h>
#include <string.h>

/* Copies a parsed JSON value into g. */
static void copy(yajl_gen g, yajl_val v) {
  if (YAJL_IS_OBJECT(v)) {
    yajl_gen_map_open(g);
    for (size_t i = 0; i < v->u.object.len; i++) {
      an_json_key(g, v->u.object.keys[i]);
      copy(g, v->u.object.values[i]);
    }
    yajl_gen_map_close(g);
  } else if (YAJL_IS_ARRAY(v)) {
    yajl_gen_array_open(g);
    for (size_t i = 0; i < v->u.array.len; i++)
      copy(g, v->u.array.values[i]);
    yajl_gen_array_close(g);
  } else if (YAJL_IS_STRING(v)) {
    an_json_string(g, YAJL_GET_STRING(v));
  } else if (YAJL_IS_NUMBER(v)) {
    yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
  } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
    yajl_gen_bool(g, YAJL_IS_TRUE(v));
  } else {
    yajl_gen_null(g);
  }
}

int an_render_webhook(yajl_val n, const an_channel_t *channel, yajl_gen g) {
  if (!YAJL_IS_OBJECT(n) || an_notice_str(n, "event")[0] == '\0')
    return EINVAL;
  copy(g, n);
  return 0;
}
