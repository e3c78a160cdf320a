"""Writes models/manifest.json from the produced model folders (see docs/models-contract.md)."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MODELS, write_json

lm = json.load(open(os.path.join(MODELS, "story-lm", "config.json")))
import onnx
_img_out = onnx.load(os.path.join(MODELS, "emoji-image", "onnx", "model.onnx")).graph.output[0]
image_size = _img_out.type.tensor_type.shape.dim[-1].dim_value   # [batch, 3, S, S]
emb_vocab = len(json.load(open(os.path.join(MODELS, "embed", "tokenizer.json")))["model"]["vocab"])
manifest = {
    "version": 1,
    "models": [
        {"id": "ensemble-story-lm", "task": "text-generation", "folder": "story-lm",
         "files": {"model": "onnx/model.onnx", "config": "config.json", "tokenizer": "tokenizer.json",
                   "tokenizerConfig": "tokenizer_config.json"},
         "contextLength": lm["max_position_embeddings"], "vocabSize": lm["vocab_size"],
         "numLayers": lm["num_hidden_layers"], "numKeyValueHeads": lm["num_key_value_heads"],
         "headDim": lm["hidden_size"] // lm["num_attention_heads"],
         "bosTokenId": lm["bos_token_id"], "eosTokenId": lm["eos_token_id"], "padTokenId": lm["pad_token_id"]},
        {"id": "ensemble-embed", "task": "embedding", "folder": "embed",
         "files": {"model": "onnx/model.onnx", "tokenizer": "tokenizer.json"},
         "dims": 128, "maxTokens": 128},
        {"id": "ensemble-emoji-image", "task": "image-generation", "folder": "emoji-image",
         "files": {"model": "onnx/model.onnx"},
         "conditioningModel": "ensemble-embed", "conditioningDims": 128, "noiseDims": 32, "imageSize": image_size},
    ],
}
write_json(os.path.join(MODELS, "manifest.json"), manifest, indent=2)
print(json.dumps(manifest))
