# syntax=docker/dockerfile:1
# The built-in object-detection algorithm as SageMaker runs an algorithm image:
#   docker run <image> train   reads /opt/ml/input, writes /opt/ml/model (PyTorch, CPU)
#   docker run <image> serve   SageMaker's serving contract on port 8080 (GET /ping, POST
#                              /invocations) for /opt/ml/model's model.onnx + model.json
# Build from the repository root after the Apiary image (serve runs Apiary's ONNX runtime):
#   docker build -f deploy/docker/apiary.Dockerfile -t apiary .
#   docker build -f deploy/docker/algorithm.Dockerfile --build-arg APIARY_IMAGE=apiary -t apiary-object-detection .
ARG APIARY_IMAGE=apiary:latest
FROM ${APIARY_IMAGE}
USER 0
# PyTorch and torchvision for CPU from Debian, the versions Apiary's own setup pins
# (scripts/setup-python.sh); numpy and Pillow come with them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-torch python3-torchvision python3-numpy python3-pil \
 && rm -rf /var/lib/apt/lists/*
ENV PYTHONPATH=/app/algorithms/object-detection \
    PYTHONUNBUFFERED=1 \
    APIARY_ML_ROOT=/opt/ml
COPY --chmod=0755 deploy/docker/algorithm-entry.sh /usr/local/bin/algorithm-entry
RUN mkdir -p /opt/ml && chown 1000:1000 /opt/ml
USER 1000:1000
WORKDIR /opt/ml
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/algorithm-entry"]
CMD ["serve"]
