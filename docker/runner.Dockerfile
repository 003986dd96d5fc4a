# syntax=docker/dockerfile:1
# The stagewise GPU runner: one stage of one run, started by a launcher (Slurm, Kubernetes) with
# STAGEWISE_API_URL, STAGEWISE_RUN_ID and STAGEWISE_RUN_TOKEN. Build from the repository root:
#   docker build -f docker/runner.Dockerfile -t stagewise-runner .
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# sympy: the grader's symbolic equivalence; transformers, peft, accelerate: the Hugging Face
# backend (models are built from a config or a local path, never downloaded from a hub name).
RUN pip install --no-cache-dir "sympy>=1.12" "numpy<3" "transformers>=4.44" "peft>=0.12" "accelerate>=0.33"

WORKDIR /opt/gpu-runner
COPY gpu-runner/gpu_runner ./gpu_runner
COPY gpu-runner/config.schema.json gpu-runner/PROTOCOL.md ./
ENV PYTHONPATH=/opt/gpu-runner \
    PYTHONUNBUFFERED=1 \
    STAGEWISE_WORK_DIR=/work

RUN useradd --create-home --uid 10001 runner && mkdir -p /work && chown runner /work
USER runner
WORKDIR /work
ENTRYPOINT ["python", "-m", "gpu_runner"]
