"""BabyAI's ``expert_filmcnn`` recurrent actor-critic (§B.6).

The symbolic 7x7x3 view (raw integer codes as floats, not normalised) goes
through a small conv stem, then two FiLM blocks conditioned on the mission
embedding, a final max-pool to one 128-d vector, and an LSTM cell whose
(h, c) pair is the agent's memory (256 floats). Actor and critic read h.

FiLM block (BabyAI ``FiLM``): conv3x3 -> BN -> ReLU -> conv3x3, then
``x * W(instr) + B(instr)`` with two Linear(instr -> 128) layers, -> BN -> ReLU.
No residual connection (that is the ``..._res`` variant).

Parameter count with 6 actions: 1,068,103 (§B.6 says about 1.07M).
Spatial sizes: 7 -conv k2 p1-> 8 -pool-> 4 -conv k3 p1-> 4 -pool-> 2 -FiLM-> 2 -pool-> 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical

from glam_bench.agents.symbolic_ppo.config import SymbolicPPOConfig


def init_linear_rows(module: nn.Module) -> None:
    """BabyAI init for Linear layers: N(0, 1) weights with unit-norm rows, zero bias."""
    if isinstance(module, nn.Linear):
        with torch.no_grad():
            module.weight.normal_(0.0, 1.0)
            module.weight.div_(module.weight.pow(2).sum(1, keepdim=True).sqrt())
            if module.bias is not None:
                module.bias.zero_()


class FiLMBlock(nn.Module):
    """Two 3x3 convs whose output is scaled and shifted by the instruction."""

    def __init__(self, instr_dim: int, channels: int = 128, out_channels: int = 128):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, out_channels, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.weight = nn.Linear(instr_dim, out_channels)
        self.bias = nn.Linear(instr_dim, out_channels)

    def forward(self, x: torch.Tensor, instr: torch.Tensor) -> torch.Tensor:
        x = self.conv2(F.relu(self.bn1(self.conv1(x))))
        scale = self.weight(instr)[:, :, None, None]
        shift = self.bias(instr)[:, :, None, None]
        return F.relu(self.bn2(x * scale + shift))


class SymbolicACModel(nn.Module):
    """forward(image, mission_ids, memory) -> (Categorical, value, new memory)."""

    def __init__(self, config: SymbolicPPOConfig = SymbolicPPOConfig()):
        super().__init__()
        c = config
        self.memory_dim = c.memory_dim
        self.image_conv = nn.Sequential(
            nn.Conv2d(3, 128, kernel_size=2, padding=1),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(128, 128, kernel_size=3, padding=1),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.films = nn.ModuleList(
            [FiLMBlock(c.instr_dim, 128, 128), FiLMBlock(c.instr_dim, 128, c.image_dim)]
        )
        self.film_pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.word_embedding = nn.Embedding(c.max_vocab, c.instr_dim)
        self.instr_rnn = nn.GRU(c.instr_dim, c.instr_dim, batch_first=True)
        self.memory_rnn = nn.LSTMCell(c.image_dim, c.memory_dim)
        self.actor = nn.Sequential(nn.Linear(c.memory_dim, 64), nn.Tanh(), nn.Linear(64, c.n_actions))
        self.critic = nn.Sequential(nn.Linear(c.memory_dim, 64), nn.Tanh(), nn.Linear(64, 1))
        self.apply(init_linear_rows)

    @property
    def memory_size(self) -> int:
        """Floats of recurrent state per env: h and c of the LSTM cell."""
        return 2 * self.memory_dim

    def initial_memory(self, batch_size: int, device: torch.device | str | None = None) -> torch.Tensor:
        return torch.zeros(batch_size, self.memory_size, device=device)

    def encode_mission(self, mission_ids: torch.Tensor) -> torch.Tensor:
        """GRU output at each mission's last word (ids right-padded with 0)."""
        lengths = (mission_ids != 0).sum(1).clamp(min=1)
        outputs, _ = self.instr_rnn(self.word_embedding(mission_ids))
        return outputs[torch.arange(len(lengths), device=outputs.device), lengths - 1]

    def forward(
        self, image: torch.Tensor, mission_ids: torch.Tensor, memory: torch.Tensor
    ) -> tuple[Categorical, torch.Tensor, torch.Tensor]:
        """image [B, 7, 7, 3] raw codes; mission_ids [B, L]; memory [B, 256]."""
        instr = self.encode_mission(mission_ids)
        x = image.float().permute(0, 3, 1, 2)  # BabyAI's two transposes: [B, C, X, Y]
        x = self.image_conv(x)
        for film in self.films:
            x = film(x, instr)
        x = F.relu(self.film_pool(x)).flatten(1)
        h, c = self.memory_rnn(x, (memory[:, : self.memory_dim], memory[:, self.memory_dim :]))
        dist = Categorical(logits=F.log_softmax(self.actor(h), dim=1))
        value = self.critic(h).squeeze(1)
        return dist, value, torch.cat([h, c], dim=1)
