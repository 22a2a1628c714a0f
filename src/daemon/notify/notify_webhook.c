/* notify_webhook.c: the generic webhook receives the notice itself (see
 * docs/alerts.md for its fields), so a script gets everything anomalyd
 * knows about the event. */
#include "json.h"
#include "notify/notify.h"

#include <errno.h>
#include <string.h>

/* Copies a parsed JSON value into w; numbers keep their text. */
static void copy(an_jw_t *w, yajl_val v) {
  if (YAJL_IS_OBJECT(v)) {
    an_jw_map_open(w);
    for (size_t i = 0; i < v->u.object.len; i++) {
      an_jw_key(w, v->u.object.keys[i]);
      copy(w, v->u.object.values[i]);
    }
    an_jw_map_close(w);
  } else if (YAJL_IS_ARRAY(v)) {
    an_jw_array_open(w);
    for (size_t i = 0; i < v->u.array.len; i++)
      copy(w, v->u.array.values[i]);
    an_jw_array_close(w);
  } else if (YAJL_IS_STRING(v)) {
    an_jw_string(w, YAJL_GET_STRING(v));
  } else if (YAJL_IS_NUMBER(v)) {
    an_jw_number_text(w, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
  } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
    an_jw_boolean(w, YAJL_IS_TRUE(v));
  } else {
    an_jw_null(w);
  }
}

int an_render_webhook(yajl_val n, const an_channel_t *channel, an_jw_t *w) {
  if (!YAJL_IS_OBJECT(n) || an_notice_str(n, "event")[0] == '\0')
    return EINVAL;
  copy(w, n);
  return 0;
}
