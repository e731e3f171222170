"""The reference side of benchmarks/serve: the usual Python way to serve the same model, FastAPI and
sentence-transformers behind uvicorn, answering OpenAI's /v1/embeddings shape as `embed serve` does.

    python reference_server.py MODEL_DIR PORT

One uvicorn worker (one copy of the model, as `embed serve` holds one); the endpoint is a plain `def`, so
FastAPI runs each request on its thread pool and torch uses every core inside each call. No batching across
requests: that is what such a server does unless someone writes a batcher.
"""

import sys

import torch
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

model_dir, port = sys.argv[1], int(sys.argv[2])
model = SentenceTransformer(model_dir, device="cpu")
app = FastAPI()


class EmbeddingsRequest(BaseModel):
    input: str | list[str]
    model: str | None = None


@app.post("/v1/embeddings")
def embeddings(request: EmbeddingsRequest):
    texts = [request.input] if isinstance(request.input, str) else request.input
    with torch.inference_mode():
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)],
        "model": "all-MiniLM-L6-v2",
    }


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", workers=1)
