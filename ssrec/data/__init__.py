"""Data sets for sequential recommendation: the in-memory form, file readers and a synthetic default.

``SequenceDataset`` is what every reader returns (PAD = 0, items 1..N, MASK = N + 1, attribute ids from 1);
``load_dataset`` picks the reader from the file suffix (``from_dataframe`` takes a pandas DataFrame);
``DataFormatError`` is the one error type for bad input and always names the file and line.
"""
from ssrec.data.dataset import PAD, ItemAttributes, SequenceDataset, from_sequences
from ssrec.data.errors import DataFormatError
from ssrec.data.frame_format import from_dataframe, read_parquet
from ssrec.data.loading import load_dataset
from ssrec.data.negatives_file import read_negatives, write_negatives
from ssrec.data.recbole_format import read_recbole
from ssrec.data.s3rec_format import read_s3rec
from ssrec.data.synthetic import make_synthetic

__all__ = [
    "PAD",
    "DataFormatError",
    "ItemAttributes",
    "SequenceDataset",
    "from_dataframe",
    "from_sequences",
    "load_dataset",
    "make_synthetic",
    "read_negatives",
    "read_parquet",
    "read_recbole",
    "read_s3rec",
    "write_negatives",
]
