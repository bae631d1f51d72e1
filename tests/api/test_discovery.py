"""The extractor listing: every built-in with its input, parameter and output schemas."""

from __future__ import annotations

from tests.api.seeding import in_process_api


def test_every_builtin_is_listed_with_its_input_parameter_and_output_schemas(tmp_path):
    with in_process_api(tmp_path) as (http, _):
        listed = {e["feature_extractor_name"]: e for e in http.get("/v1/collections/features/extractors").json()
                  if e["source"] == "builtin"}
        one = http.get("/v1/collections/features/extractors/document_extractor_v1")
    assert set(listed) == {"text_extractor", "image_extractor", "document_extractor", "audio_extractor",
                           "video_extractor"}
    doc = listed["document_extractor"]
    assert one.status_code == 200 and one.json()["feature_extractor_name"] == "document_extractor"
    assert doc["supported_input_types"] == ["pdf"] and doc["input_schema"]["required"] == ["document"]
    assert doc["parameter_schema"]["properties"]["password"] and doc["default_parameters"]["split_by"] == "words"
    outputs = doc["output_schema"]["properties"]
    assert outputs["text_embedding"]["maxItems"] == 384 and outputs["page_number"]["type"] == "integer"
    assert {v["name"] for v in doc["required_vector_indexes"]} == {"text_embedding"}
    video = listed["video_extractor"]["output_schema"]["properties"]
    assert video["image_embedding"]["maxItems"] == 1280 and {"start_time", "end_time", "thumbnail"} <= set(video)
    assert listed["audio_extractor"]["output_schema"]["properties"]["start_time"]["type"] == "number"
