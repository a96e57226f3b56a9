#!/usr/bin/python3
"""The reference side of `npm run bench`: times torchvision (and dense PyTorch references) on the
inputs the TypeScript side wrote, with the same thread count, and prints one JSON line.

Usage: /usr/bin/python3 bench/torchvision_bench.py JOB.json

JOB.json: { "op": ..., "threads": n, "warmup": n, "repeats": n, "inputs": DIR, "device"?, ... } where DIR
holds index.json ({ name: { file, dtype, shape } }) and the raw little-endian tensors. The answer
is { "samples": [ms, ...], ... } with op-specific extras, and the last line on stderr is
`peak RSS KiB <n>`, as the bench's node processes write it (bench/peak_rss.ts).
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torchvision
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops import FrozenBatchNorm2d, box_iou


def load_inputs(folder):
    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)
    tensors = {}
    for name, entry in index.items():
        array = np.fromfile(os.path.join(folder, entry["file"]), dtype=np.dtype(entry["dtype"]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return tensors


def time_runs(fn, warmup, repeats, device):
    # CUDA work is asynchronous: wait for it before reading the clock.
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter_ns()
        fn()
        sync()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


# ---- ops -------------------------------------------------------------------------------------

def roi_align_forward(job, x):
    feat, rois = x[job["input"]], x[job["rois"]]
    args = (job["outputSize"], job["spatialScale"], job["samplingRatio"], job["aligned"])

    def forward():
        with torch.inference_mode():
            return torchvision.ops.roi_align(feat, rois, *args)

    return forward


def roi_align_backward(job, x):
    # The backward kernel itself, as our roiAlignBackward is: no forward, no autograd bookkeeping.
    grad, rois = x[job["gradOutput"]], x[job["rois"]]
    b, c, h, w = job["inputShape"]
    size = job["outputSize"]
    kernel = torch.ops.torchvision._roi_align_backward
    return lambda: kernel(grad, rois, job["spatialScale"], size, size, b, c, h, w, job["samplingRatio"], job["aligned"])


def nms(job, x):
    boxes, scores = x[job["boxes"]], x[job["scores"]]
    return lambda: torchvision.ops.nms(boxes, scores, job["iouThreshold"])


def matmul(job, x):
    """An n x n float32 product through torch's BLAS: the bench's measure of the machine's peak rate."""
    n = job["size"]
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: torch.mm(a, b)


# ---- relation module, dense ------------------------------------------------------------------

def masked_top_k(scores, keep, k):
    """Dense per-row top-K over the kept entries: a 0/1 [N, N] matrix of the chosen edges."""
    n = scores.shape[0]
    k = min(k, n)
    values, columns = scores.masked_fill(~keep, -math.inf).topk(k, dim=1)
    chosen = torch.zeros(n, n, dtype=scores.dtype)
    chosen.scatter_(1, columns, torch.isfinite(values).to(scores.dtype))
    return chosen


def top_k_graph(job, x):
    scores, keep, k = x[job["scores"]], x[job["keep"]].bool(), job["k"]
    return lambda: masked_top_k(scores, keep, k)


def propagate(job, x):
    """P X and its gradients with P as a dense N x N matrix: the dense form of eq. 6's product."""
    n = x[job["input"]].shape[0]
    p = torch.zeros(n, n)
    p[x[job["rows"]].long(), x[job["cols"]].long()] = x[job["values"]]
    p.requires_grad_(True)
    features = x[job["input"]].clone().requires_grad_(True)
    grad = x[job["gradOutput"]]

    def run():
        p.grad = None
        features.grad = None
        (p @ features).backward(grad)

    return run


def relation_keep(boxes, overlap):
    keep = box_iou(boxes, boxes) <= overlap
    keep.fill_diagonal_(False)
    return keep


def spatial_relatedness(boxes, lam):
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    inter = torch.minimum(w[:, None], w[None, :]) * torch.minimum(h[:, None], h[None, :])
    area = w * h
    m = inter / (area[:, None] + area[None, :] - inter)
    centres = torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
    return m * torch.exp(-lam * torch.cdist(centres, centres))


def relation_module(job, x):
    """Eqs. 1-7 with dense N x N matrices: what our sparse module computes, the plain way."""
    f, boxes = x[job["features"]], x[job["boxes"]]
    d = f.shape[1]
    torch.manual_seed(0)
    phi = torch.nn.Sequential(torch.nn.Linear(d, d), torch.nn.ReLU(), torch.nn.Linear(d, d))
    gcn = [torch.nn.Linear(d, d, bias=False) for _ in range(job["layers"])]

    def forward():
        keep = relation_keep(boxes, job["overlapThreshold"])
        projected = phi(f)
        edges = masked_top_k(projected @ projected.T, keep, job["k"])
        edges = torch.maximum(edges, masked_top_k(spatial_relatedness(boxes, job["lambda"]), keep, job["k"]))
        edges = torch.maximum(edges, edges.T)
        degree = edges.sum(1)
        inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-30).rsqrt(), torch.zeros_like(degree))
        laplacian = torch.diag((degree > 0).to(f.dtype)) - inv_sqrt[:, None] * edges * inv_sqrt[None, :]
        hidden = f
        for layer in gcn:
            hidden = torch.nn.functional.leaky_relu(laplacian @ layer(hidden), 0.01)
        return f + hidden

    def run():
        with torch.inference_mode():
            return forward()

    return run


# ---- detector ----------------------------------------------------------------------------------

def faster_rcnn(seed, **kwargs):
    """fasterrcnn_resnet50_fpn as torchvision builds it for pretrained weights (FrozenBatchNorm,
    3 trainable stages), filled from a seed instead of downloaded."""
    torch.manual_seed(seed)
    body = torchvision.models.resnet50(norm_layer=FrozenBatchNorm2d)
    return FasterRCNN(_resnet_fpn_extractor(body, 3), num_classes=91, **kwargs)


def forward_flops(model, *args):
    """FLOPs of one forward pass of `model` on `args`, counted by hooks on its convolutions and
    linear layers: 2 * Cin/groups * kh * kw * Cout * Hout * Wout per image for a convolution and
    2 * in * out per row for a linear layer (biases, norms, activations, pooling, RoIAlign and NMS
    are not counted). The RNG state is restored, so that the timed runs sample as they would have."""
    total = [0]

    def count(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            total[0] += 2 * module.in_channels // module.groups * kh * kw * output.numel()
        else:
            total[0] += 2 * module.in_features * output.numel()

    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    hooks = [m.register_forward_hook(count) for m in layers]
    with torch.random.fork_rng(), torch.no_grad():
        model(*args)
    for hook in hooks:
        hook.remove()
    return total[0]


def peak_rss_kib():
    # VmHWM is this process's own peak, as bench/peak_rss.ts reads it; ru_maxrss (KiB on Linux) elsewhere.
    try:
        with open("/proc/self/status") as f:
            return int(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def as_input(image, device):
    # contiguous CHW, as torchvision.transforms.functional.to_tensor and read_image give it
    return image.to(device).permute(2, 0, 1).contiguous().float().div_(255)


def score_threshold_for(model, image, candidates, device):
    """The class-score threshold that lets about `candidates` (box, class) pairs into the NMS of
    postprocess, so that both sides do a realistic amount of post-processing with random weights."""
    captured = {}

    def keep_logits(module, inputs, output):
        captured["logits"] = output[0]  # returning nothing leaves the output as it is

    hook = model.roi_heads.box_predictor.register_forward_hook(keep_logits)
    with torch.inference_mode():
        model([as_input(image, device)])
    hook.remove()
    scores = torch.softmax(captured["logits"], -1)[:, 1:].flatten()
    return float(scores.sort(descending=True).values[min(candidates, scores.numel()) - 1])


def detect(job, x):
    """model([image] * batch) with the seeded model (saved to weightsOut when asked), or with
    weightsIn loaded into it as a user's process loads its weights; the score threshold is
    scoreThreshold when given, else found for `candidates`."""
    image, device = x[job["image"]], job["device"]
    model = faster_rcnn(job["seed"], min_size=job["minSize"], max_size=job["maxSize"], box_detections_per_img=job["maxDets"]).eval()
    if job.get("weightsIn"):
        model.load_state_dict(torch.load(job["weightsIn"]))
    if job.get("weightsOut"):
        torch.save(model.state_dict(), job["weightsOut"])
    model.to(device)
    threshold = job["scoreThreshold"] if "scoreThreshold" in job else score_threshold_for(model, image, job["candidates"], device)
    model.roi_heads.score_thresh = threshold
    flops = {"flops": forward_flops(model, [as_input(image, device)])} if job.get("countFlops") else {}
    kept = {}

    def run():
        with torch.inference_mode():
            kept["boxes"] = model([as_input(image, device)] * job.get("batch", 1))[0]["boxes"]

    # The first image's boxes (x1, y1, x2, y2, flattened) are what the ONNX reference is checked against.
    return run, lambda: {"scoreThreshold": threshold, "boxes": kept["boxes"].shape[0], "detections": kept["boxes"].flatten().tolist(), **flops}


def export_onnx(job, x):
    """The seeded model of a detect job (weightsIn, scoreThreshold) exported to ONNX at onnxOut, as a
    Node user who only needs inference would run it with onnxruntime-node. Timed once: the export."""
    image = x[job["image"]]
    model = faster_rcnn(job["seed"], min_size=job["minSize"], max_size=job["maxSize"], box_detections_per_img=job["maxDets"]).eval()
    model.load_state_dict(torch.load(job["weightsIn"]))
    model.roi_heads.score_thresh = job["scoreThreshold"]
    return lambda: torch.onnx.export(
        model, ([as_input(image, "cpu")],), job["onnxOut"], opset_version=11, input_names=["image"], output_names=["boxes", "labels", "scores"]
    )


def train_step(job, x):
    device = job["device"]
    images = [x[name] for name in job["images"]]
    targets = [{"boxes": x[b].to(device), "labels": x[l].long().to(device)} for b, l in zip(job["boxes"], job["labels"])]
    model = faster_rcnn(job["seed"], min_size=job["minSize"], max_size=job["maxSize"]).train()
    if job.get("weightsOut"):
        torch.save(model.state_dict(), job["weightsOut"])
    model.to(device)
    flops = forward_flops(model, [as_input(i, device) for i in images], targets)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(parameters, lr=job["lr"], momentum=job["momentum"], weight_decay=job["weightDecay"])
    last = {}

    def step():
        losses = model([as_input(i, device) for i in images], targets)
        loss = sum(losses.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        last["loss"] = float(loss)

    # JSON has no NaN: a diverged step's loss crosses as null, and its timing still counts.
    return step, lambda: {"loss": last["loss"] if math.isfinite(last["loss"]) else None, "forwardFlops": flops}


OPS = {
    "roi_align": roi_align_forward,
    "roi_align_backward": roi_align_backward,
    "nms": nms,
    "matmul": matmul,
    "top_k_graph": top_k_graph,
    "relation_module": relation_module,
    "propagate": propagate,
    "detect": detect,
    "export_onnx": export_onnx,
    "train_step": train_step,
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: torchvision_bench.py JOB.json")
    with open(sys.argv[1]) as f:
        job = json.load(f)
    torch.set_num_threads(job["threads"])
    inputs = load_inputs(job["inputs"])
    made = OPS[job["op"]](job, inputs)
    fn, extra = made if isinstance(made, tuple) else (made, dict)
    device = job.get("device", "cpu")
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    samples = time_runs(fn, job["warmup"], job["repeats"], device)
    memory = {"peakMiB": round(torch.cuda.max_memory_allocated(device) / 2**20)} if device.startswith("cuda") else {}
    print(json.dumps({"samples": samples, "torch": torch.__version__, "torchvision": torchvision.__version__, **extra(), **memory}))
    sys.stderr.write(f"peak RSS KiB {peak_rss_kib()}\n")


if __name__ == "__main__":
    main()
