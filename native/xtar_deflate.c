/*
 * xtar's deflate addon: whole-buffer raw deflate and raw inflate through the system's libdeflate
 * (Debian's libdeflate-dev). Loaded by src/worker/deflate.ts when it was built; without it xtar
 * deflates with Node's zlib, so nothing here is required.
 *
 *   deflateRaw(data: Uint8Array, level: 0..12): Buffer      one raw deflate stream of all of data
 *   gzipMember(data: Uint8Array, level: 0..12): Buffer      one gzip member of all of data (no name, time 0)
 *   inflateRaw(data: Uint8Array, size: number): Buffer      exactly `size` bytes, or throws
 *   inflateRawEx(data, size): [Buffer, consumed]            and how many input bytes the stream used
 *   version: string                                         libdeflate's version
 *
 * Compressors and decompressors are kept per Node environment (each worker thread has its own), one
 * per level, and freed when the environment goes away.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <node_api.h>

#define MAX_LEVEL 12

typedef struct {
  struct libdeflate_compressor *compressors[MAX_LEVEL + 1];
  struct libdeflate_decompressor *decompressor;
  uint8_t *scratch;
  size_t scratch_size;
} State;

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  State *s = data;
  for (int i = 0; i <= MAX_LEVEL; i++)
    if (s->compressors[i] != NULL) libdeflate_free_compressor(s->compressors[i]);
  if (s->decompressor != NULL) libdeflate_free_decompressor(s->decompressor);
  free(s->scratch);
  free(s);
}

static State *state_of(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/* The bytes of a Uint8Array (or Buffer) argument. */
static int bytes_arg(napi_env env, napi_value v, const uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = p;
  return 1;
}

/* One raw deflate stream (gzip = 0) or one gzip member (gzip = 1) of all of data, in a new Buffer. */
static napi_value compress_common(napi_env env, napi_callback_info info, int gzip) {
  const char *usage = gzip ? "gzipMember(data, level)" : "deflateRaw(data, level)";
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return fail(env, "EINVAL", usage);
  const uint8_t *in = NULL;
  size_t in_len = 0;
  if (!bytes_arg(env, argv[0], &in, &in_len)) return fail(env, "EINVAL", "deflateRaw: data must be a Uint8Array");
  int32_t level = -1;
  if (napi_get_value_int32(env, argv[1], &level) != napi_ok || level < 0 || level > MAX_LEVEL) return fail(env, "EINVAL", "deflateRaw: level must be 0..12");
  State *s = state_of(env);
  if (s == NULL) return fail(env, "EINVAL", "deflateRaw: no state");
  if (s->compressors[level] == NULL) {
    s->compressors[level] = libdeflate_alloc_compressor(level);
    if (s->compressors[level] == NULL) return fail(env, "ENOMEM", "deflateRaw: cannot allocate a compressor");
  }
  struct libdeflate_compressor *c = s->compressors[level];
  size_t bound = gzip ? libdeflate_gzip_compress_bound(c, in_len) : libdeflate_deflate_compress_bound(c, in_len);
  if (s->scratch_size < bound) {
    size_t size = bound < 65536 ? 65536 : bound;
    uint8_t *grown = malloc(size);
    if (grown == NULL) return fail(env, "ENOMEM", "deflateRaw: out of memory");
    free(s->scratch);
    s->scratch = grown;
    s->scratch_size = size;
  }
  size_t out_len = gzip ? libdeflate_gzip_compress(c, in, in_len, s->scratch, bound) : libdeflate_deflate_compress(c, in, in_len, s->scratch, bound);
  if (out_len == 0) return fail(env, "EINVAL", "deflateRaw: the output did not fit its bound");
  napi_value result;
  if (napi_create_buffer_copy(env, out_len, s->scratch, NULL, &result) != napi_ok) return NULL;
  return result;
}

static napi_value deflate_raw(napi_env env, napi_callback_info info) {
  return compress_common(env, info, 0);
}

static napi_value gzip_member(napi_env env, napi_callback_info info) {
  return compress_common(env, info, 1);
}

/* Inflates into a new Buffer of exactly `size` bytes; *consumed gets the stream's length in the input. */
static napi_value inflate_common(napi_env env, napi_callback_info info, size_t *consumed) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return fail(env, "EINVAL", "inflateRaw(data, size)");
  const uint8_t *in = NULL;
  size_t in_len = 0;
  if (!bytes_arg(env, argv[0], &in, &in_len)) return fail(env, "EINVAL", "inflateRaw: data must be a Uint8Array");
  double size_d = -1;
  if (napi_get_value_double(env, argv[1], &size_d) != napi_ok || !(size_d >= 0) || size_d > 9007199254740991.0 || size_d != (double)(size_t)size_d)
    return fail(env, "EINVAL", "inflateRaw: size must be a whole number of bytes");
  size_t size = (size_t)size_d;
  State *s = state_of(env);
  if (s == NULL) return fail(env, "EINVAL", "inflateRaw: no state");
  if (s->decompressor == NULL) {
    s->decompressor = libdeflate_alloc_decompressor();
    if (s->decompressor == NULL) return fail(env, "ENOMEM", "inflateRaw: cannot allocate a decompressor");
  }
  napi_value result;
  void *out = NULL;
  if (napi_create_buffer(env, size, &out, &result) != napi_ok) return NULL;
  enum libdeflate_result r = libdeflate_deflate_decompress_ex(s->decompressor, in, in_len, out, size, consumed, NULL);
  switch (r) {
    case LIBDEFLATE_SUCCESS:
      return result;
    case LIBDEFLATE_SHORT_OUTPUT:
      return fail(env, "Z_DATA_ERROR", "inflateRaw: the stream holds fewer bytes than expected");
    case LIBDEFLATE_INSUFFICIENT_SPACE:
      return fail(env, "Z_DATA_ERROR", "inflateRaw: the stream holds more bytes than expected");
    default:
      return fail(env, "Z_DATA_ERROR", "inflateRaw: invalid deflate data");
  }
}

static napi_value inflate_raw(napi_env env, napi_callback_info info) {
  size_t consumed = 0;
  return inflate_common(env, info, &consumed);
}

static napi_value inflate_raw_ex(napi_env env, napi_callback_info info) {
  size_t consumed = 0;
  napi_value buf = inflate_common(env, info, &consumed);
  if (buf == NULL) return NULL;
  napi_value pair, n;
  if (napi_create_array_with_length(env, 2, &pair) != napi_ok) return NULL;
  if (napi_create_double(env, (double)consumed, &n) != napi_ok) return NULL;
  if (napi_set_element(env, pair, 0, buf) != napi_ok || napi_set_element(env, pair, 1, n) != napi_ok) return NULL;
  return pair;
}

/* The CRC-32 of all of data (zip's and gzip's), as a number: libdeflate's, with the CPU's carry-less
 * multiply where it has one — several times zlib's speed on the checks every blob gets. */
static napi_value crc32_of(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return fail(env, "EINVAL", "crc32(data)");
  const uint8_t *in = NULL;
  size_t in_len = 0;
  if (!bytes_arg(env, argv[0], &in, &in_len)) return fail(env, "EINVAL", "crc32: data must be a Uint8Array");
  napi_value result;
  if (napi_create_uint32(env, libdeflate_crc32(0, in, in_len), &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  State *s = calloc(1, sizeof(State));
  if (s == NULL || napi_set_instance_data(env, s, free_state, NULL) != napi_ok) {
    free(s);
    napi_throw_error(env, "ENOMEM", "xtar_deflate: cannot set up");
    return NULL;
  }
  napi_value fn, version;
  if (napi_create_function(env, "deflateRaw", NAPI_AUTO_LENGTH, deflate_raw, NULL, &fn) != napi_ok || napi_set_named_property(env, exports, "deflateRaw", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "gzipMember", NAPI_AUTO_LENGTH, gzip_member, NULL, &fn) != napi_ok || napi_set_named_property(env, exports, "gzipMember", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "inflateRaw", NAPI_AUTO_LENGTH, inflate_raw, NULL, &fn) != napi_ok || napi_set_named_property(env, exports, "inflateRaw", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "inflateRawEx", NAPI_AUTO_LENGTH, inflate_raw_ex, NULL, &fn) != napi_ok || napi_set_named_property(env, exports, "inflateRawEx", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "crc32", NAPI_AUTO_LENGTH, crc32_of, NULL, &fn) != napi_ok || napi_set_named_property(env, exports, "crc32", fn) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, LIBDEFLATE_VERSION_STRING, NAPI_AUTO_LENGTH, &version) != napi_ok || napi_set_named_property(env, exports, "version", version) != napi_ok) return NULL;
  return exports;
}
