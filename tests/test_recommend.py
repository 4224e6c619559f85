"""Recommendations in the data's own ids: readers keep the ids, checkpoints carry them, recommend and export."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

import ssrec
from ssrec.cli import main
from ssrec.data import from_sequences, make_synthetic, read_recbole, read_s3rec
from ssrec.data.split import leave_one_out
from ssrec.evaluation.ranking import encoder_scorer
from ssrec.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ssrec.serving import Recommender, UnknownIdError, Vocabulary
from ssrec.serving import recommender as recommender_module
from ssrec.serving.recommend_data import recommend_data
from ssrec.training.finetuning import FinetuneConfig, finetune

MAX_LEN = 20


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """SASRec fine-tuned for a few epochs on a synthetic data set whose item ids are strings ("i<k>")."""
    base = make_synthetic(num_users=200, num_items=60, seed=5)
    tokens = tuple(f"i{k}" for k in range(1000, 1000 + base.num_items))
    data = ssrec.data.SequenceDataset(base.name, base.items, base.offsets, base.num_items, base.users,
                                      item_ids=tokens)
    split = leave_one_out(data, MAX_LEN)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=data.num_items, max_len=MAX_LEN, hidden_size=16)
    out = tmp_path_factory.mktemp("finetuned")
    finetune(encoder, split, FinetuneConfig(protocol="full", epochs=3, seed=0), out=out)
    return data, split, out / "model.pt"


def test_readers_keep_the_datas_own_item_ids(tmp_path):
    inter = tmp_path / "d.inter"
    inter.write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                     "u1\tmovie-b\t1\nu1\tmovie-a\t2\nu1\tmovie-c\t3\nu2\tmovie-a\t1\nu2\tmovie-d\t2\nu2\tmovie-b\t3\n")
    data = read_recbole(inter)
    assert data.item_ids == ("movie-b", "movie-a", "movie-c", "movie-d")  # item k is item_ids[k - 1]
    assert [data.item_vocabulary[i - 1] for i in data.sequence(1)] == ["movie-a", "movie-d", "movie-b"]
    s3rec = tmp_path / "d.txt"
    s3rec.write_text("7 3 1 2\n8 2 3 3\n")
    assert read_s3rec(s3rec).item_vocabulary == ("1", "2", "3")  # S3-Rec ids are the numbers themselves


def test_a_dataframe_with_string_ids_round_trips_to_string_ids(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    titles = [f"sku-{chr(97 + k)}{k}" for k in range(30)]
    rows = [(f"user-{u}", titles[int(rng.integers(30))], t) for u in range(40) for t in range(6)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    data = ssrec.data.from_dataframe(frame)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=data.num_items, max_len=MAX_LEN, hidden_size=16)
    finetune(encoder, leave_one_out(data, MAX_LEN), FinetuneConfig(protocol="full", epochs=1), out=tmp_path)
    recommender = Recommender.load(tmp_path / "model.pt")
    history = list(frame[frame.user_id == "user-3"].item_id)
    recs = recommender.recommend([history], k=5)
    assert len(recs.items[0]) == 5 and set(recs.items[0]) <= set(titles) and not set(recs.items[0]) & set(history)
    out = tmp_path / "recs.parquet"
    recommend_data(recommender, data, k=5, out=out)
    table = pd.read_parquet(out)
    assert table.user.iloc[0] == "user-0" and set(table["item"]) <= set(titles) and len(table) == 5 * data.num_users


def test_the_checkpoint_carries_the_item_ids_under_its_digest(trained, tmp_path):
    data, _, checkpoint = trained
    assert load_checkpoint(checkpoint)["vocabulary"]["items"] == list(data.item_ids)
    raw = torch.load(checkpoint, weights_only=True)
    raw["vocabulary"]["items"][0] = "forged"  # one id edited, the recorded digest kept
    edited = tmp_path / "edited.pt"
    torch.save(raw, edited)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(edited)


def test_top1_from_the_training_part_is_the_evaluation_scorers_argmax(trained):
    """recommend(history minus its last two items) ranks first what full-ranking validation scores highest."""
    data, split, checkpoint = trained
    recommender = Recommender.load(checkpoint)
    users = torch.arange(0, data.num_users, 7)  # a sample of users
    scores = encoder_scorer(recommender.encoder)(split.inputs("valid")[users], users)  # (U', N + 2)
    scores[:, 0] = scores[:, -1] = float("-inf")
    for row, u in enumerate(users.tolist()):  # the history the validation target is ranked after
        scores[row, torch.from_numpy(data.sequence(u)[:-2])] = float("-inf")
    expected = [data.item_ids[i - 1] for i in scores.argmax(dim=1).tolist()]
    histories = [[data.item_ids[i - 1] for i in data.sequence(u)[:-2]] for u in users.tolist()]
    assert [items[0] for items in recommender.recommend(histories, k=1).items] == expected


def test_history_train_on_a_data_file_matches_the_python_api(trained, tmp_path):
    data, _, checkpoint = trained
    recommender = Recommender.load(checkpoint)
    out = tmp_path / "recs.jsonl"
    summary = recommend_data(recommender, data, k=3, history="train", out=out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.users == len(lines) == data.num_users
    for u in (0, 11, 150):
        history = [data.item_ids[i - 1] for i in data.sequence(u)[:-2]]
        want = recommender.recommend([history], k=3)
        assert lines[u]["user"] == data.users[u] and lines[u]["items"] == want.items[0]
        np.testing.assert_allclose(lines[u]["scores"], want.scores[0], rtol=1e-5)


def test_seen_items_are_excluded_unless_asked(trained):
    data, _, checkpoint = trained
    recommender = Recommender.load(checkpoint)
    history = [data.item_ids[i - 1] for i in data.sequence(4)]
    ranked_all = recommender.recommend([history], k=data.num_items, exclude_seen=False).items[0]
    assert len(ranked_all) == data.num_items  # PAD and MASK are never candidates
    excluded = recommender.recommend([history], k=10).items[0]
    assert excluded == [i for i in ranked_all if i not in set(history)][:10]


def test_scoring_in_small_chunks_gives_the_same_recommendations(trained, monkeypatch):
    data, _, checkpoint = trained
    recommender = Recommender.load(checkpoint)
    histories = [[data.item_ids[i - 1] for i in data.sequence(u)] for u in range(50)]
    whole = recommender.recommend(histories, k=5)
    monkeypatch.setattr(recommender_module, "SCORE_BUDGET", 3 * (data.num_items + 2))  # 3 users per chunk
    chunked = recommender.recommend(histories, k=5)
    assert chunked.items == whole.items
    np.testing.assert_allclose(chunked.scores, whole.scores, rtol=1e-5)  # GEMM blocking differs by batch size


def test_unknown_ids_are_named_or_skipped_with_a_count(trained, caplog):
    data, _, checkpoint = trained
    recommender = Recommender.load(checkpoint)
    with pytest.raises(UnknownIdError, match=r"history 1: item id 'nope' \(position 2\) is not among the 60 items"):
        recommender.recommend([["i1000"], ["i1001", "nope"]])
    with caplog.at_level(logging.WARNING):
        recs = recommender.recommend([["i1000"], ["i1001", "nope"]], on_unknown="skip")
    assert len(recs.items) == 2 and "skipped 1 item ids" in caplog.text
    with pytest.raises(ValueError, match=r"k must be an integer in 1\.\.60"):
        recommender.recommend([["i1000"]], k=61)


def test_a_model_of_other_data_is_refused_naming_the_counts(trained):
    _, _, checkpoint = trained
    other = from_sequences([[1, 2, 3, 4]] * 5, num_items=90)
    with pytest.raises(UnknownIdError, match=r"has 90 items, the model 60; 90 of the data's item ids are unknown"):
        recommend_data(Recommender.load(checkpoint), other)


def test_cli_keeps_an_existing_out_and_names_an_unknown_user(trained, tmp_path, monkeypatch):
    data, _, checkpoint = trained
    monkeypatch.chdir(tmp_path)
    vocab = Vocabulary.of(data)  # the data as a RecBole file, in its string ids
    inter = tmp_path / "d.inter"
    lines = ["user_id:token\titem_id:token\ttimestamp:float"]
    for u in range(data.num_users):
        lines += [f"{data.users[u]}\t{vocab.items[i - 1]}\t{t}" for t, i in enumerate(data.sequence(u))]
    inter.write_text("\n".join(lines) + "\n")
    out = tmp_path / "recs.csv"
    out.write_text("precious\n")
    args = ["recommend", "--checkpoint", str(checkpoint), "--data", str(inter), "--out", str(out), "--device", "cpu"]
    assert main(args) == 2 and out.read_text() == "precious\n"
    assert main([*args, "--overwrite", "--k", "4"]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "user,rank,item,score" and len(rows) == 1 + 4 * data.num_users
    users = tmp_path / "users.txt"
    users.write_text(f"{data.users[3]}\n\nghost\n")
    assert main([*args, "--overwrite", "--users", str(users)]) == 2
    assert main([*args, "--overwrite", "--users", str(users), "--skip-unknown"]) == 0
    assert len(out.read_text().splitlines()) == 1 + 10


def test_safetensors_export_loads_back_bit_for_bit(trained, tmp_path):
    pytest.importorskip("safetensors")
    from ssrec.serving.export import export_checkpoint

    _, _, checkpoint = trained
    export_checkpoint(checkpoint, "safetensors", tmp_path / "st")
    a, b = Recommender.load(checkpoint), Recommender.load(tmp_path / "st")
    assert a.vocabulary == b.vocabulary
    for (name, x), y in zip(a.encoder.state_dict().items(), b.encoder.state_dict().values()):
        assert torch.equal(x, y), name
    with pytest.raises(FileExistsError, match="exists; it is kept"):
        export_checkpoint(checkpoint, "safetensors", tmp_path / "st")


def test_embeddings_export_holds_the_item_table_and_ids(trained, tmp_path):
    from ssrec.serving.export import export_checkpoint

    data, _, checkpoint = trained
    export_checkpoint(checkpoint, "embeddings", tmp_path / "emb")
    table = np.load(tmp_path / "emb" / "item_embeddings.npy")
    ids = json.loads((tmp_path / "emb" / "item_ids.json").read_text())
    weights = load_checkpoint(checkpoint)["state_dict"]["item_embeddings.weight"]
    np.testing.assert_array_equal(table, weights[1:-1].numpy())
    assert ids == list(data.item_ids)


def test_onnx_export_scores_as_torch_does(trained, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    from ssrec.serving.export import ScoringPath, export_checkpoint

    data, split, checkpoint = trained
    report = export_checkpoint(checkpoint, "onnx", tmp_path / "onnx")
    assert report["onnxruntime_max_abs_difference"] < 1e-4
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"))
    inputs = split.inputs("test")[:37, -9:]  # another batch and length than the export traced
    got = session.run(None, {"items": inputs.numpy()})[0]
    with torch.no_grad():
        want = ScoringPath(Recommender.load(checkpoint).encoder)(inputs).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_checkpoint_without_ids_is_refused_unless_given_them(trained, tmp_path):
    data, _, checkpoint = trained
    bare = tmp_path / "bare.pt"
    save_checkpoint(bare, Recommender.load(checkpoint).encoder, kind="finetuned")
    with pytest.raises(CheckpointError, match="records no item ids"):
        Recommender.load(bare)
    assert Recommender.load(bare, vocabulary=Vocabulary.of(data)).vocabulary.items == data.item_ids
