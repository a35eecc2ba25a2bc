"""PyTorch anchor for TTV-HRM: the original repository's model (imports fixed, semantics kept),
timed on the GPU for training steps and generation, to set performance anchors.

Usage: python3 benches/anchors/torch_ref.py [--compile] [--tokens 256|32]
Prints one JSON line per measurement.
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def rms_norm(x, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


class Rope(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim)))

    def forward(self, n, device):
        f = torch.outer(torch.arange(n, device=device).float(), self.inv_freq)
        return f.cos(), f.sin()


def rope(q, k, cos, sin):
    B, T, nh, hs = q.shape
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    def rot(x):
        x0, x1 = x[..., : hs // 2], x[..., hs // 2 :]
        return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1)
    return rot(q), rot(k)


class MHA(nn.Module):
    def __init__(self, d, h, causal, sdpa):
        super().__init__()
        self.h, self.hd, self.causal, self.sdpa = h, d // h, causal, sdpa
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.out = nn.Linear(d, d, bias=False)

    def forward(self, x, cos=None, sin=None):
        B, T, C = x.shape
        q, k, v = self.qkv(x).chunk(3, -1)
        q, k, v = (t.view(B, T, self.h, self.hd) for t in (q, k, v))
        if cos is not None:
            q, k = rope(q, k, cos, sin)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        if self.sdpa:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        else:
            s = q @ k.transpose(-2, -1) / math.sqrt(self.hd)
            if self.causal:
                s = s.masked_fill(torch.triu(torch.ones(T, T, device=x.device), 1).bool(), float("-inf"))
            o = F.softmax(s, -1) @ v
        return self.out(o.transpose(1, 2).reshape(B, T, C))


class SwiGLU(nn.Module):
    def __init__(self, d, e=2.0):
        super().__init__()
        i = int(d * e)
        self.w1, self.w2, self.w3 = nn.Linear(d, i, bias=False), nn.Linear(d, i, bias=False), nn.Linear(i, d, bias=False)

    def forward(self, x):
        return self.w3(F.silu(self.w1(x)) * self.w2(x))


class Block(nn.Module):
    def __init__(self, d, h, causal, sdpa):
        super().__init__()
        self.attn, self.ffn = MHA(d, h, causal, sdpa), SwiGLU(d)

    def forward(self, x, cos=None, sin=None):
        x = rms_norm(x + self.attn(x, cos, sin))
        return rms_norm(x + self.ffn(x))


class Cross(nn.Module):
    def __init__(self, d, h, sdpa):
        super().__init__()
        self.h, self.hd, self.sdpa = h, d // h, sdpa
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))

    def forward(self, x, t):
        B, N, C = x.shape
        M = t.shape[1]
        q = self.q(x).view(B, N, self.h, self.hd).transpose(1, 2)
        k = self.k(t).view(B, M, self.h, self.hd).transpose(1, 2)
        v = self.v(t).view(B, M, self.h, self.hd).transpose(1, 2)
        if self.sdpa:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.hd), -1) @ v
        return self.o(o.transpose(1, 2).reshape(B, N, C))


class TextEncoder(nn.Module):
    def __init__(self, vocab, d, L, sdpa):
        super().__init__()
        self.emb, self.pos = nn.Embedding(vocab, d), nn.Embedding(L, d)
        self.layers = nn.ModuleList([Block(d, 8, False, sdpa) for _ in range(3)])
        self.norm = nn.LayerNorm(d)

    def forward(self, tok):
        x = self.emb(tok) + self.pos(torch.arange(tok.shape[1], device=tok.device))[None]
        for l in self.layers:
            x = l(x)
        return self.norm(x)


class Tok(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c1 = nn.Conv3d(3, d // 4, 3, 1, 1)
        self.c2 = nn.Conv3d(d // 4, d // 2, (2, 4, 4), (2, 4, 4))
        self.c3 = nn.Conv3d(d // 2, d, 3, 1, 1)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        x = self.c3(F.gelu(self.c2(F.gelu(self.c1(x)))))
        B, C, T, H, W = x.shape
        return self.norm(x.permute(0, 2, 3, 4, 1).reshape(B, T * H * W, C))


class Detok(nn.Module):
    def __init__(self, d, shape=(8, 32, 32)):
        super().__init__()
        self.t, self.h, self.w = shape[0] // 2, shape[1] // 4, shape[2] // 4
        self.proj = nn.Linear(d, d)
        self.c1 = nn.ConvTranspose3d(d, d // 2, 3, 1, 1)
        self.c2 = nn.ConvTranspose3d(d // 2, d // 4, (2, 4, 4), (2, 4, 4))
        self.c3 = nn.ConvTranspose3d(d // 4, 3, 3, 1, 1)

    def forward(self, x):
        B, N, C = x.shape
        x = self.proj(x).reshape(B, self.t, self.h, self.w, C).permute(0, 4, 1, 2, 3)
        return torch.tanh(self.c3(F.gelu(self.c2(F.gelu(self.c1(x))))))


class HRMLayer(nn.Module):
    def __init__(self, d, h, sdpa):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d, h, True, sdpa) for _ in range(2)])
        self.cross = Cross(d, h, sdpa)

    def forward(self, z, inj, text, cos, sin):
        z = z + inj
        z = rms_norm(z + self.cross(z, text))
        for b in self.blocks:
            z = b(z, cos, sin)
        return z


class TTVHRM(nn.Module):
    def __init__(self, d=256, h=8, vocab=50257, L=77, sdpa=False):
        super().__init__()
        self.d = d
        self.text = TextEncoder(vocab, d, L, sdpa)
        self.tok, self.detok = Tok(d), Detok(d)
        self.rope = Rope(d // h)
        self.H, self.L = HRMLayer(d, h, sdpa), HRMLayer(d, h, sdpa)
        self.register_buffer("H_init", torch.randn(1, 1, d) * 0.02)
        self.register_buffer("L_init", torch.randn(1, 1, d) * 0.02)
        self.out_norm = nn.LayerNorm(d)
        self.halt = nn.Linear(d, 1)

    def forward(self, tokens, target=None, max_steps=3, fixed_steps=True):
        B = tokens.shape[0]
        text = self.text(tokens)
        v = self.tok(target) if target is not None else torch.randn(B, 256, self.d, device=tokens.device) * 0.02
        n = v.shape[1]
        zH, zL = self.H_init.expand(B, n, -1), self.L_init.expand(B, n, -1)
        cos, sin = self.rope(n, v.device)
        for step in range(max_steps):
            zL = self.L(zL, zH + v, text, cos, sin)
            zH = self.H(zH, zL, text, cos, sin)
        return self.detok(self.out_norm(zH))


def sync():
    torch.cuda.synchronize()


def bench_train(model, B, iters, dev):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    tok = torch.randint(0, 50257, (B, 77), device=dev)
    vid = torch.rand(B, 3, 8, 32, 32, device=dev) * 2 - 1
    def step():
        out = model(tok, vid)
        loss = F.mse_loss(out, vid)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    for _ in range(5):
        step()
    sync()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        t = time.perf_counter(); step(); sync(); times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2]
    return dict(kind="train", batch=B, median_step_ms=med * 1e3, samples_per_s=B / med,
                peak_mem_mb=torch.cuda.max_memory_allocated() / 2**20)


@torch.no_grad()
def bench_gen(model, B, iters, dev):
    tok = torch.randint(0, 50257, (B, 77), device=dev)
    for _ in range(5):
        model(tok)
    sync()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        t = time.perf_counter(); model(tok); sync(); times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2]
    return dict(kind="generate", batch=B, median_ms=med * 1e3, clips_per_s=B / med,
                peak_mem_mb=torch.cuda.max_memory_allocated() / 2**20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--sdpa", action="store_true")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--batches", default="1,2,16,64")
    ap.add_argument("--mode", default=None, help="torch.compile mode, e.g. reduce-overhead (CUDA graphs) or max-autotune")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (mixed precision, fp32 master weights)")
    a = ap.parse_args()
    dev = "cuda"
    torch.backends.cudnn.benchmark = True
    if a.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    model = TTVHRM(sdpa=a.sdpa).to(dev)
    nparams = sum(p.numel() for p in model.parameters())
    print(json.dumps(dict(kind="params", params=nparams, gpu=torch.cuda.get_device_name(), torch=torch.__version__)), flush=True)
    m = (torch.compile(model, mode=a.mode) if a.mode else torch.compile(model)) if a.compile else model
    tag = dict(compile=a.compile, mode=a.mode, sdpa=a.sdpa, tf32=a.tf32, bf16=a.bf16)
    if a.bf16:
        torch.autocast("cuda", dtype=torch.bfloat16).__enter__()
    for B in [int(b) for b in a.batches.split(",")]:
        r = bench_gen(m.eval(), B, 30, dev); r.update(tag); print(json.dumps(r), flush=True)
        if B > 1:
            r = bench_train(m.train(), B, 20, dev); r.update(tag); print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
