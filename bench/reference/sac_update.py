"""Reference SAC/RLPD update cycle in PyTorch, the same math as corrigo's `agent::sac::Learner::update`.

One cycle = `ratio` critic steps (each on its own RLPD batch: half demo, half online, uniform) + one actor and
temperature step on the last batch. Networks: MLPs Dense -> LayerNorm -> SiLU; critic ensemble as one batched
network (stacked weights, baddbmm); REDQ subset of the target critics (all target critics are evaluated, then the
subset is taken, as SERL does); tanh-squashed Gaussian actor with clamped log-std; temperature with target entropy
-|A|/2; soft target update; images: per-camera small CNN (4 conv 3x3, 32 channels, strides 2,2,2,1) -> Linear ->
LayerNorm -> tanh, DrQ random shift (replicate pad 4, grid_sample as in DrQ-v2), actor gradient stopped at the
encoder. Adam (torch.optim defaults, foreach). Batches gathered from in-memory numpy arrays.

Prints one JSON line: {"updates_per_s": ..., "iters": ..., "seconds": ...}.
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class MLP(nn.Module):
    def __init__(self, inp, hidden, out=None):
        super().__init__()
        layers = []
        for h in hidden:
            layers += [nn.Linear(inp, h), nn.LayerNorm(h), nn.SiLU()]
            inp = h
        if out is not None:
            layers.append(nn.Linear(inp, out))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Ensemble(nn.Module):
    def __init__(self, members, inp, hidden):
        super().__init__()
        self.w, self.b, self.g, self.beta = nn.ParameterList(), nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        dims = [inp] + list(hidden) + [1]
        for i in range(len(dims) - 1):
            bound = 1 / math.sqrt(dims[i])
            self.w.append(nn.Parameter(torch.empty(members, dims[i], dims[i + 1]).uniform_(-bound, bound)))
            self.b.append(nn.Parameter(torch.empty(members, 1, dims[i + 1]).uniform_(-bound, bound)))
            if i < len(dims) - 2:
                self.g.append(nn.Parameter(torch.ones(members, 1, dims[i + 1])))
                self.beta.append(nn.Parameter(torch.zeros(members, 1, dims[i + 1])))
        self.members = members

    def forward(self, x):
        h = x.unsqueeze(0).expand(self.members, *x.shape)
        n = len(self.w)
        for i in range(n):
            h = torch.baddbmm(self.b[i], h, self.w[i])
            if i < n - 1:
                h = F.layer_norm(h, h.shape[-1:]) * self.g[i] + self.beta[i]
                h = F.silu(h)
        return h.squeeze(-1)


class SmallCNN(nn.Module):
    def __init__(self, hw, features):
        super().__init__()
        convs, c, s = [], 3, hw
        for stride in (2, 2, 2, 1):
            convs += [nn.Conv2d(c, 32, 3, stride), nn.ReLU()]
            c, s = 32, (s - 3) // stride + 1
        self.convs = nn.Sequential(*convs)
        self.proj = nn.Linear(32 * s * s, features)
        self.ln = nn.LayerNorm(features)

    def forward(self, img_u8):  # [B, H, W, 3] uint8
        x = img_u8.permute(0, 3, 1, 2).float() / 255.0
        return torch.tanh(self.ln(self.proj(self.convs(x).flatten(1))))


class Critic(nn.Module):
    def __init__(self, cams, hw, features, proprio, action, hidden, members):
        super().__init__()
        self.encoders = nn.ModuleList([SmallCNN(hw, features) for _ in range(cams)])
        self.q = Ensemble(members, features * cams + proprio + action, hidden)

    def features(self, images, proprio):
        if len(self.encoders) == 0:
            return proprio
        return torch.cat([e(i) for e, i in zip(self.encoders, images)] + [proprio], 1)


def random_shift(imgs, pad=4):  # DrQ-v2 RandomShiftsAug on [B, H, W, 3] uint8
    x = imgs.permute(0, 3, 1, 2).float()
    n, c, h, w = x.shape
    dev = x.device
    x = F.pad(x, (pad,) * 4, "replicate")
    eps = 1.0 / (h + 2 * pad)
    arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * pad, device=dev)[:h]
    arange = arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)
    base_grid = torch.cat([arange, arange.transpose(1, 0)], dim=2).unsqueeze(0).repeat(n, 1, 1, 1)
    shift = torch.randint(0, 2 * pad + 1, size=(n, 1, 1, 2), device=dev).float() * 2.0 / (h + 2 * pad)
    out = F.grid_sample(x, base_grid + shift, padding_mode="zeros", align_corners=False)
    return out.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def squashed(mean, log_std):
    log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
    eps = torch.randn_like(mean)
    u = mean + log_std.exp() * eps
    a = torch.tanh(u)
    logp = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    logp = logp - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
    return a, logp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cams", type=int, default=0)
    ap.add_argument("--hw", type=int, default=128)
    ap.add_argument("--proprio", type=int, default=19)
    ap.add_argument("--action", type=int, default=6)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--ratio", type=int, default=4)
    ap.add_argument("--ensemble", type=int, default=2)
    ap.add_argument("--subsample", type=int, default=2)
    ap.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--transitions", type=int, default=1000)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n = args.transitions
    data = {
        "proprio": rng.standard_normal((n, args.proprio), dtype=np.float32),
        "next_proprio": rng.standard_normal((n, args.proprio), dtype=np.float32),
        "action": rng.uniform(-1, 1, (n, args.action)).astype(np.float32),
        "reward": rng.standard_normal(n, dtype=np.float32),
        "done": (rng.uniform(size=n) < 0.05).astype(np.float32),
    }
    for c in range(args.cams):
        data[f"img{c}"] = rng.integers(0, 256, (n, args.hw, args.hw, 3), dtype=np.uint8)
        data[f"next_img{c}"] = rng.integers(0, 256, (n, args.hw, args.hw, 3), dtype=np.uint8)
    half = n // 2  # first half "demo", second half "online"

    def sample():
        b = args.batch
        idx = np.concatenate([rng.integers(0, half, b // 2), rng.integers(half, n, b - b // 2)])
        out = {k: torch.from_numpy(v[idx]).to(dev, non_blocking=True) for k, v in data.items()}
        out["images"] = [out[f"img{c}"] for c in range(args.cams)]
        out["next_images"] = [out[f"next_img{c}"] for c in range(args.cams)]
        return out

    dev = torch.device(args.device)
    critic = Critic(args.cams, args.hw, args.features, args.proprio, args.action, args.hidden, args.ensemble)
    target = Critic(args.cams, args.hw, args.features, args.proprio, args.action, args.hidden, args.ensemble)
    critic.to(dev)
    target.to(dev)
    target.load_state_dict(critic.state_dict())
    for p in target.parameters():
        p.requires_grad_(False)
    feat = args.features * args.cams + args.proprio
    actor = MLP(feat, args.hidden, 2 * args.action).to(dev)
    log_alpha = torch.tensor([math.log(0.01)], device=dev, requires_grad=True)
    opt_c = torch.optim.Adam(critic.parameters(), lr=3e-4)
    opt_a = torch.optim.Adam(actor.parameters(), lr=3e-4)
    opt_t = torch.optim.Adam([log_alpha], lr=3e-4)
    target_entropy = -args.action / 2
    gamma, tau = 0.95, 0.005

    def cycle():
        for k in range(args.ratio):
            b = sample()
            obs_i = [random_shift(i) for i in b["images"]]
            next_i = [random_shift(i) for i in b["next_images"]]
            alpha = log_alpha.exp().item()
            with torch.no_grad():
                fn_online = critic.features(next_i, b["next_proprio"])
                fn_target = target.features(next_i, b["next_proprio"]) if args.cams else fn_online
                mean, log_std = actor(fn_online).chunk(2, -1)
                a2, logp2 = squashed(mean, log_std)
                q2 = target.q(torch.cat([fn_target, a2], 1))
                sub = torch.randperm(args.ensemble, device=dev)[: args.subsample]
                v = q2[sub].min(0).values - alpha * logp2
                y = b["reward"] + gamma * (1 - b["done"]) * v
            f = critic.features(obs_i, b["proprio"])
            q = critic.q(torch.cat([f, b["action"]], 1))
            loss = (q - y.unsqueeze(0)).pow(2).mean()
            opt_c.zero_grad(set_to_none=True)
            loss.backward()
            opt_c.step()
            with torch.no_grad():
                torch._foreach_lerp_(list(target.parameters()), list(critic.parameters()), tau)
        with torch.no_grad():
            f = critic.features(obs_i, b["proprio"])
        alpha = log_alpha.exp().item()
        mean, log_std = actor(f).chunk(2, -1)
        a, logp = squashed(mean, log_std)
        q = critic.q(torch.cat([f, a], 1))
        a_loss = (alpha * logp - q.mean(0)).mean()
        opt_a.zero_grad(set_to_none=True)
        a_loss.backward()
        opt_a.step()
        t_loss = log_alpha.exp() * (-logp.detach() - target_entropy).mean()
        opt_t.zero_grad(set_to_none=True)
        t_loss.backward()
        opt_t.step()
        return loss.item(), a_loss.item()

    for _ in range(args.warmup):
        cycle()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        cycle()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(json.dumps({"updates_per_s": args.iters / dt, "iters": args.iters, "seconds": dt, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
