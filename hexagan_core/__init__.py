"""HexaGAN Studio's engine: HexaGAN (Hwang, Jung & Yoon, ICML 2019) for dirty tables.

Imputes missing values, balances classes with conditional generation in the encoder's hidden
space and learns from unlabelled rows, all in one GAN of six networks. Never imports Streamlit.
"""

from hexagan_core.config import PRESETS, HexaGANConfig, preset

__all__ = ["HexaGANConfig", "PRESETS", "preset"]
