#!/usr/bin/python3
"""make_corpus.py — writes the hand-made seed corpus of the fuzz targets.

    /usr/bin/python3 fuzz/make_corpus.py fuzz/corpus

Run by fuzz/make_corpus.sh after make_model_seeds has written the real model
files into fuzz/corpus/model/ (the bad model seeds are mutations of them).
Naming, checked by tests/test_corpus.c: ok_* must parse with LF_OK, bad_*
must fail with LF_ERR_FORMAT; anything else (inputs the fuzzer found) only
has to return a valid status without crashing.  Needs numpy (python3-numpy).
"""
import io
import json
import os
import struct
import sys

import numpy as np


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def npy_bytes(arr, version=None, fortran=False):
    buf = io.BytesIO()
    if fortran:
        arr = np.asfortranarray(arr)
    np.lib.format.write_array(buf, arr, version=version, allow_pickle=True)
    return buf.getvalue()


def npy_raw(header, data=b"", version=1):
    """A .npy image with a hand-written header dict literal."""
    h = header.encode("latin1")
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + data


def npy_corpus(d):
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    write(d, "ok_f4_v1.npy", npy_bytes(a, (1, 0)))
    write(d, "ok_f8_v2.npy", npy_bytes(a.astype(np.float64) - 1, (2, 0)))
    write(d, "ok_i8_1d_v3.npy", npy_bytes(np.array([3, -1, 7, 0], dtype=np.int64), (3, 0)))
    write(d, "ok_u1_fortran.npy", npy_bytes(np.arange(6, dtype=np.uint8).reshape(3, 2), (1, 0), True))
    write(d, "ok_f4_bigendian.npy", npy_bytes(a.astype(">f4"), (1, 0)))
    write(d, "ok_bool.npy", npy_bytes(np.array([True, False, True]), (1, 0)))
    write(d, "ok_f2.npy", npy_bytes(np.array([[0.5, -2.0], [65504.0, 0.0]], dtype=np.float16), (1, 0)))
    write(d, "ok_i2_be.npy", npy_bytes(np.array([[1, -2], [300, 4]], dtype=">i2"), (1, 0)))
    good = npy_bytes(a, (1, 0))
    write(d, "bad_magic.npy", b"\x93NUMPZ" + good[6:])
    write(d, "bad_version_4.npy", good[:6] + b"\x04\x00" + good[8:])
    write(d, "bad_truncated_header.npy", good[:40])
    write(d, "bad_truncated_data.npy", good[:-5])
    write(d, "bad_trailing_bytes.npy", good + b"\0\0\0\0")
    write(d, "bad_object_dtype.npy", npy_raw("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", b"\0" * 16))
    write(d, "bad_string_dtype.npy", npy_raw("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", b"\0" * 24))
    write(d, "bad_structured_dtype.npy",
          npy_raw("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 8))
    write(d, "bad_shape_3d.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }", b"\0" * 4))
    write(d, "bad_shape_negative.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }"))
    write(d, "bad_shape_overflow.npy",
          npy_raw("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"))
    write(d, "bad_header_len_huge_v2.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'")
    write(d, "bad_int_beyond_2_24.npy", npy_bytes(np.array([1 << 25], dtype=np.int64), (1, 0)))
    write(d, "bad_fortran_not_bool.npy", npy_raw("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", b"\0" * 4))
    # rank 3 and 4: refused by the 2-D reader (bad_), read by the N-dimensional one (or not)
    write(d, "bad_nd_u1_images_4d.npy", npy_bytes(np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)))
    write(d, "bad_nd_f8_3d_v2.npy", npy_bytes(np.linspace(-1, 1, 24).reshape(2, 3, 4), (2, 0)))
    write(d, "bad_nd_i8_beyond_int32.npy", npy_bytes(np.array([[[1 << 31]]], dtype=np.int64), (1, 0)))
    write(d, "bad_nd_5d.npy", npy_bytes(np.zeros((1, 1, 1, 1, 2), dtype=np.float32), (1, 0)))
    write(d, "bad_nd_fortran_3d.npy", npy_bytes(np.arange(8, dtype=np.int32).reshape(2, 2, 2), (1, 0), True))


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npz_corpus(d):
    import zipfile
    a = np.array([[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]], dtype=np.float32)
    write(d, "ok_stored.npz", npz_bytes(a=a))
    buf = io.BytesIO()
    np.savez_compressed(buf, a=a.astype(np.float64))
    write(d, "ok_deflated.npz", buf.getvalue())
    buf = io.BytesIO()  # plain zipfile, no ZIP64 extras, a comment at the end
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.npy", npy_bytes(a))
        z.comment = b"written by hand"
    write(d, "ok_comment.npz", buf.getvalue())
    write(d, "two_arrays.npz", npz_bytes(a=a, b=a[::-1].copy()))
    good = npz_bytes(a=a)
    write(d, "bad_truncated.npz", good[: len(good) // 2])
    flip = bytearray(good)
    flip[good.index(b"NUMPY") + 60] ^= 1
    write(d, "bad_crc.npz", bytes(flip))
    write(d, "bad_not_zip.npz", b"PK\x03\x04" + b"\0" * 40)
    inner = bytearray(good)  # a member that is not a .npy (CRC fixed up)
    i = good.index(b"\x93NUMPY")
    inner[i : i + 6] = b"XXNUMP"
    import zlib
    n = len(npy_bytes(a))
    crc = zlib.crc32(bytes(inner[i : i + n])) & 0xFFFFFFFF
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        j = bytes(inner).index(sig)
        off = 14 if sig == b"PK\x03\x04" else 16
        inner[j + off : j + off + 4] = struct.pack("<I", crc)
    write(d, "bad_member_not_npy.npz", bytes(inner))


def csv_corpus(d):
    write(d, "ok_header_comma.csv", "a,b,c\n1,2,3\n4.5,-6e-1,7\n")
    write(d, "ok_spaces.txt", "  1.0   2.0  3.0\n  4.0   5.0  6.0\n")
    write(d, "ok_crlf_nofinal.csv", "x,y\r\n1,2\r\n3,4")
    write(d, "ok_nan_inf.csv", "1,nan,NA\n,inf,-inf\n")
    write(d, "ok_ints.csv", "0,1\n2,16777216\n")
    write(d, "ok_blank_edges.csv", "\n\n1,2\n3,4\n\n\n")
    write(d, "bad_ragged.csv", "1,2,3\n4,5\n")
    write(d, "bad_text_field.csv", "1,2\n3,abc\n")
    write(d, "bad_empty.csv", "")
    write(d, "bad_blank_between.csv", "1,2\n\n3,4\n")
    write(d, "bad_nul.csv", b"1,2\n3,\x004\n")
    write(d, "bad_beyond_float.csv", "1,2\n3,1e39\n")
    write(d, "bad_comma_decimal.txt", "1,5;2,5\n")
    write(d, "ok_bom_cr_trailing.csv", b"\xef\xbb\xbfp0,p1,\r0.25,0.75,\r,,\r1,0,\r")
    write(d, "ok_long_number.txt", "0." + "0" * 300 + "5 1e-3\n+.5 -0\n")
    write(d, "bad_first_row_typo.csv", "0.2,0.8O\n0.6,0.4\n")
    write(d, "bad_first_row_hex.csv", "0x1p-3,0x1.cp-1\n0.6,0.4\n")
    write(d, "bad_trailing_comma_some.csv", "1,2,\n3,4\n")


def json_corpus(d, arch):
    write(d, "ok_arch.json", arch)
    write(d, "ok_types.json", '{"a":[1,-2.5e3,0.1,true,false,null,"s"],"b":{},"c":[],"d":{"e":[[]]}}')
    write(d, "ok_unicode.json", '["\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/", "caf\u00e9 \U0001F600"]')
    write(d, "ok_numbers.json", "[0,-0,1e308,-1e-320,9223372036854775807,-9223372036854775808,"
                                "18446744073709551616,0.30000000000000004,1E+2]")
    write(d, "ok_scalar.json", ' "just a string" ')
    write(d, "ok_depth_10.json", "[" * 10 + "]" * 10)
    write(d, "bad_duplicate_key.json", '{"a":1,"a":2}')
    write(d, "bad_trailing_comma.json", "[1,2,]")
    write(d, "bad_deep_1000.json", "[" * 1000 + "]" * 1000)
    write(d, "bad_escaped_nul.json", '["a\\u0000b"]')
    write(d, "bad_bom.json", b"\xef\xbb\xbf{}")
    write(d, "bad_lone_surrogate.json", '["\\ud800"]')
    write(d, "bad_number_overflow.json", "[1e400]")
    write(d, "bad_invalid_utf8.json", b'["\xc0\xaf"]')
    write(d, "bad_unterminated.json", '{"a":[1,2')
    write(d, "bad_leading_zero.json", "[01]")
    write(d, "bad_two_values.json", "{} {}")


def st_bytes(header, data=b"", length=None, pad=True):
    h = json.dumps(header, separators=(",", ":")).encode() if not isinstance(header, bytes) else header
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def st_corpus(d, model):
    write(d, "ok_model_seed.safetensors", model)
    f32 = struct.pack("<4f", 1, 2, 3, 4)
    write(d, "ok_f32.safetensors", st_bytes({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, f32))
    hdr = {"__metadata__": {"k": "v", "empty": ""}}
    data = b""
    for name, dt, size in [("f64", "F64", 8), ("f16", "F16", 2), ("bf16", "BF16", 2), ("i64", "I64", 8),
                           ("i32", "I32", 4), ("i16", "I16", 2), ("i8", "I8", 1), ("u64", "U64", 8),
                           ("u32", "U32", 4), ("u16", "U16", 2), ("u8", "U8", 1), ("bool", "BOOL", 1),
                           ("e4m3", "F8_E4M3", 1), ("e5m2", "F8_E5M2", 1)]:
        hdr[name] = {"dtype": dt, "shape": [2], "data_offsets": [len(data), len(data) + 2 * size]}
        data += bytes(range(1, 2 * size + 1))
    write(d, "ok_all_dtypes.safetensors", st_bytes(hdr, data))
    write(d, "ok_scalar_and_empty.safetensors",
          st_bytes({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
                    "z": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]}}, struct.pack("<f", 0.5)))
    write(d, "ok_metadata_only.safetensors", st_bytes({"__metadata__": {"a": "b"}}))
    t = lambda b, e, shape=(2, 2): {"dtype": "F32", "shape": list(shape), "data_offsets": [b, e]}
    write(d, "bad_header_len_2_63.safetensors", st_bytes({"w": t(0, 16)}, f32, length=1 << 63))
    write(d, "bad_header_len_beyond_file.safetensors", st_bytes({"w": t(0, 16)}, f32, length=4096))
    write(d, "bad_overlap.safetensors", st_bytes({"a": t(0, 16), "b": t(8, 24)}, f32 + f32[:8]))
    write(d, "bad_hole.safetensors", st_bytes({"a": t(0, 8, (2,)), "b": t(12, 20, (2,))}, f32 + f32[:4]))
    write(d, "bad_out_of_bounds.safetensors", st_bytes({"w": t(0, 32, (8,))}, f32))
    write(d, "bad_trailing_byte.safetensors", st_bytes({"w": t(0, 16)}, f32 + b"\0"))
    write(d, "bad_size_mismatch.safetensors", st_bytes({"w": t(0, 16, (3,))}, f32))
    write(d, "bad_duplicate_key.safetensors",
          st_bytes(b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', f32))
    write(d, "bad_unknown_dtype.safetensors", st_bytes({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, f32))
    write(d, "bad_metadata_not_string.safetensors", st_bytes({"__metadata__": {"a": 1}}))
    write(d, "bad_name_256.safetensors", st_bytes({"n" * 256: t(0, 16)}, f32))
    write(d, "bad_9_dims.safetensors", st_bytes({"w": t(0, 4, (1,) * 9)}, f32[:4]))
    write(d, "bad_not_object.safetensors", st_bytes(b"[]"))
    write(d, "bad_short.safetensors", b"\x02\0\0\0")
    write(d, "bad_extra_field.safetensors", st_bytes({"w": dict(t(0, 16), extra=1)}, f32))
    write(d, "bad_deep_header.safetensors", st_bytes(b'{"__metadata__":' + b"[" * 1000 + b"]" * 1000 + b"}"))


def parse_st(b):
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def model_variant(base, edit_arch=None, edit_header=None, data_edit=None, raw_arch=None):
    hdr, data = parse_st(base)
    meta = hdr["__metadata__"]
    if raw_arch is not None:
        meta["architecture"] = raw_arch
    elif edit_arch:
        arch = json.loads(meta["architecture"])
        edit_arch(arch)
        meta["architecture"] = json.dumps(arch, separators=(",", ":"))
    if edit_header:
        data = edit_header(hdr, data) or data
    if data_edit:
        data = data_edit(hdr, data)
    return st_bytes(hdr, data)


def drop_tensor(name):
    def edit(hdr, data):
        b, e = hdr[name]["data_offsets"]
        del hdr[name]
        for k, v in hdr.items():
            if k != "__metadata__" and v["data_offsets"][0] >= e:
                v["data_offsets"] = [v["data_offsets"][0] - (e - b), v["data_offsets"][1] - (e - b)]
        return data[:b] + data[e:]
    return edit


def model_corpus(d, seed):
    hdr, _ = parse_st(seed)
    first = next(k for k in hdr if k != "__metadata__")

    def set_type(a):
        a["layers"][3]["type"] = "ConvLSTM4D"

    def unknown_field(a):
        a["layers"][0]["exec"] = "rm -rf /"

    def later_inbound(a):
        a["layers"][2]["inbound"] = ["out"]

    def huge_units(a):
        a["layers"][2]["units"] = 1 << 40

    def nan_weight(hdr, data):
        b = hdr[first]["data_offsets"][0]
        return data[:b] + struct.pack("<f", float("nan")) + data[b + 4:]

    def wrong_shape(hdr, data):
        hdr[first]["shape"] = [hdr[first]["shape"][0] * hdr[first]["shape"][-1]]

    def extra_tensor(hdr, data):
        hdr["stray"] = {"dtype": "F32", "shape": [1], "data_offsets": [len(data), len(data) + 4]}
        return data + b"\0\0\0\0"

    def no_arch(hdr, data):
        del hdr["__metadata__"]["architecture"]

    write(d, "bad_unknown_layer_type.lfm", model_variant(seed, set_type))
    write(d, "bad_unknown_field.lfm", model_variant(seed, unknown_field))
    write(d, "bad_inbound_later_layer.lfm", model_variant(seed, later_inbound))
    write(d, "bad_units_beyond_max.lfm", model_variant(seed, huge_units))
    write(d, "bad_nan_weight.lfm", model_variant(seed, edit_header=nan_weight))
    write(d, "bad_wrong_tensor_shape.lfm", model_variant(seed, edit_header=wrong_shape))
    write(d, "bad_missing_tensor.lfm", model_variant(seed, edit_header=drop_tensor(first)))
    write(d, "bad_extra_tensor.lfm", model_variant(seed, edit_header=extra_tensor))
    write(d, "bad_no_architecture.lfm", model_variant(seed, edit_header=no_arch))
    write(d, "bad_arch_duplicate_key.lfm", model_variant(seed, raw_arch='{"layers":[],"layers":[]}'))
    write(d, "bad_arch_deep.lfm", model_variant(seed, raw_arch="[" * 1000 + "]" * 1000))
    write(d, "bad_arch_not_json.lfm", model_variant(seed, raw_arch="import os; os.system('id')"))


def set_floats(name, value):
    def edit(hdr, data):
        b, e = hdr[name]["data_offsets"]
        return data[:b] + struct.pack("<f", value) * ((e - b) // 4) + data[e:]
    return edit


def new_fields_corpus(d):
    """hostile variants of the optimizer, schedule, CategoryEncoding, RNN
    dropout and RandomZoom fields (from make_model_seeds' ok_opt_*.lfm and
    ok_extras.lfm)"""
    def seed(name):
        with open(os.path.join(d, name), "rb") as f:
            return f.read()
    adam, adagrad, adadelta, extras = (seed("ok_opt_adam_amsgrad.lfm"), seed("ok_opt_adagrad.lfm"),
                                       seed("ok_opt_adadelta.lfm"), seed("ok_extras.lfm"))

    def schedule(**kw):
        return lambda a: a["optimizer"]["schedule"].update(kw)

    def layer(name, **kw):
        return lambda a: next(l for l in a["layers"] if l["name"] == name).update(kw)

    def no_amsgrad(a):
        del a["optimizer"]["amsgrad"]

    write(d, "bad_schedule_values_count.lfm", model_variant(adadelta, schedule(boundaries=[1, 2, 3])))
    write(d, "bad_schedule_decay_steps_0.lfm", model_variant(adam, schedule(decay_steps=0)))
    write(d, "bad_velocity_hat_without_amsgrad.lfm", model_variant(adam, no_amsgrad))
    write(d, "bad_amsgrad_without_velocity_hat.lfm",
          model_variant(adam, edit_header=drop_tensor("optimizer.velocity_hat")))
    write(d, "bad_negative_accumulator.lfm", model_variant(adagrad, edit_header=set_floats("optimizer.v", -1.0)))
    write(d, "bad_category_num_tokens_2p62.lfm", model_variant(extras, layer("category_encoding", num_tokens=1 << 62)))
    write(d, "bad_rnn_dropout_rounds_to_1.lfm", model_variant(extras, layer("lstm", dropout=0.99999999)))
    write(d, "bad_zoom_range_below_minus_1.lfm", model_variant(extras, layer("random_zoom", height_factor=[-1, 0.5])))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus"
    with open(os.path.join(out, "model", "ok_seed.lfm"), "rb") as f:
        seed = f.read()
    hdr, _ = parse_st(seed)
    npy_corpus(os.path.join(out, "npy"))
    csv_corpus(os.path.join(out, "csv"))
    npz_corpus(os.path.join(out, "npz"))
    json_corpus(os.path.join(out, "json"), hdr["__metadata__"]["architecture"])
    st_corpus(os.path.join(out, "safetensors"), seed)
    model_corpus(os.path.join(out, "model"), seed)
    new_fields_corpus(os.path.join(out, "model"))


if __name__ == "__main__":
    main()
