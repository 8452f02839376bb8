"""Writes test/fixtures/numpy_dtypes.npz with NumPy itself, so the .npy/.npz readers are
tested against files NumPy wrote: one array per dtype, a big-endian array, a 0-d array,
an empty array, and a stored (np.savez) archive holding them. Also writes three raw .npy
headers as separate entries: format 2.0 and 3.0 headers and a Fortran-order array.
Usage: /usr/bin/python3 scripts/make-numpy-fixture.py   (needs python3-numpy)
"""
import io
import zipfile

import numpy as np

OUT = 'test/fixtures/numpy_dtypes.npz'

base = np.arange(-3, 9).reshape(3, 4)
arrays = {
    'f4': (base / 4).astype('<f4'),
    'f8': (base / 3).astype('<f8'),
    'f2': (base / 2).astype('<f2'),
    'i1': base.astype('i1'),
    'i2': (base * 1000).astype('<i2'),
    'i4': (base * 100000).astype('<i4'),
    'i8': (base * 10**12).astype('<i8'),
    'u1': (base + 3).astype('u1'),
    'u2': (base + 3).astype('<u2') * 1000,
    'u4': (base + 3).astype('<u4') * 100000,
    'u8': (base + 3).astype('<u8') * 10**12,
    'b1': base % 2 == 0,
    'be_f4': (base / 4).astype('>f4'),
    'be_i8': (base * 10**12).astype('>i8'),
    'scalar': np.array(2.5, dtype='<f8'),
    'empty': np.zeros((0, 3), dtype='<f4'),
    'vector': np.arange(5, dtype='<i4'),
}

buf = io.BytesIO()
np.savez(buf, **arrays)
with zipfile.ZipFile(buf, 'a') as z:
    for name, version in (('v2', (2, 0)), ('v3', (3, 0))):
        entry = io.BytesIO()
        np.lib.format.write_array(entry, (base / 4).astype('<f4'), version=version)
        z.writestr(f'{name}.npy', entry.getvalue())
    entry = io.BytesIO()
    np.lib.format.write_array(entry, np.asfortranarray(base.astype('<f4')))
    z.writestr('fortran.npy', entry.getvalue())
with open(OUT, 'wb') as f:
    f.write(buf.getvalue())
print('wrote', OUT)
