"""Home: what HexaGAN does, its six networks and their data flow, and one-click starts."""

import streamlit as st

from hexagan_core.config import preset
from hexagan_core.device import accelerator, devices_here
from ui import components, runtime, state

PAGE = "home"
CPU_SECONDS_PER_MNIST_ITERATION = 0.6
"""One iteration of the 'mnist_quick' preset on a 2-core CPU, its validation reports included:
0.56 s on an idle machine, 0.53-0.58 s with the other core busy (BENCHMARKS.md, Table 6). The
Train page times the real cost before a run starts."""

# Colours by role: imputation (blue), conditional generation (orange), classification (green).
NETWORKS_DOT = """
digraph hexagan {
  rankdir=TB; bgcolor="transparent"; nodesep=0.5; ranksep=0.32; newrank=true;
  node [fontname="Helvetica", fontsize=13, color="#5f6368", fontcolor="#31333f"];
  edge [fontname="Helvetica", fontsize=11, color="#7f7f7f", fontcolor="#5f6368"];

  node [shape=box, style="rounded,filled", penwidth=1.6, width=1.5];
  E    [label="E  (encoder)", fillcolor="#dbe6fa", color="#3b6fd4"];
  G_MI [label="G_MI  (imputer)", fillcolor="#dbe6fa", color="#3b6fd4"];
  D_MI [label="D_MI  (entry critic)", fillcolor="#dbe6fa", color="#3b6fd4"];
  G_CG [label="G_CG  (class generator)", fillcolor="#fde6cc", color="#E69F00"];
  D_CG [label="D_CG  (hidden critic)", fillcolor="#fde6cc", color="#E69F00"];
  C    [label="C  (classifier)", fillcolor="#d5f0e6", color="#009E73"];

  node [shape=plaintext, style="", fontsize=12, width=0];
  xm   [label="x̃, m: a row with gaps, and its mask"];
  zy   [label="z, y: noise and a class"];
  h    [label="h (hidden vector)"];
  hc   [label="h_c (generated hidden vector)"];
  xhat [label="x̂: the row, gaps filled"];
  xc   [label="synthetic rows of class y"];
  yin  [label="y, or C's prediction"];
  out  [label="per entry: real or imputed?"];
  cls  [label="class"];

  { rank=same; xm; zy; }
  { rank=same; E; G_CG; }
  { rank=same; h; hc; }
  { rank=same; xhat; xc; }

  xm -> E -> h -> G_MI -> xhat -> D_MI -> out;
  zy -> G_CG -> hc -> D_CG;
  h -> D_CG;
  hc -> G_MI [style=dashed];
  G_MI -> xc [style=dashed];
  xc -> C [style=dashed, label=" rebalance"];
  xhat -> C -> cls;
  C -> yin [style=dotted, label=" unlabelled rows"];
  yin -> D_MI;
}
"""

components.use_the_router()
st.title("HexaGAN Studio")
st.markdown(
    "Classify **dirty tables** — missing values, imbalanced classes and missing labels — with "
    "one GAN of six networks (HexaGAN; Hwang, Jung & Yoon, ICML 2019). "
    "**E, G_MI, D_MI** fill the gaps: D_MI judges every entry real or imputed. "
    "**G_CG, D_CG** write new minority-class rows in E's hidden space. "
    "**C** classifies, and learns from unlabelled rows by fooling D_MI with its predictions."
)

left, right = st.columns([2, 1], gap="large")
with left:
    st.subheader("The six networks and their data flow")
    st.graphviz_chart(NETWORKS_DOT, width="content")
    st.caption(
        "Blue: imputation; orange: conditional generation in the hidden space (D_CG tells "
        "G_CG's h_c from E's real h); green: classification. Dashed: synthetic minority rows "
        "for C. Dotted: C's predictions stand in for missing labels when D_MI is trained."
    )
with right:
    st.subheader("Start")
    st.info(f"Compute device: {devices_here()}. With device 'auto' each run takes the faster for "
            "its model; the Train page says which, and why.")
    if st.button("Breast cancer, 20 % missing", type="primary", width="stretch",
                 key=state.widget_key(PAGE, "breast"),
                 help="569 tumours × 30 features; trains in about half a minute on a CPU."):
        state.set_data_choice(state.DataChoice(source="breast", display_name="breast"))
        state.set_train_choice(state.TrainChoice(config=preset("default")))
        state.forget_widgets("train")
        state.forget_widgets("data")
        st.switch_page("pages/train.py")
    mnist_preset = "mnist" if accelerator() else "mnist_quick"  # the full setting wants a GPU
    mnist_iterations = preset(mnist_preset).iterations
    if st.button("MNIST digits", width="stretch", key=state.widget_key(PAGE, "mnist"),
                 help="Train on 5,000 handwritten digits, 20 % of the pixels hidden, with "
                 f"convolutional networks (the '{mnist_preset}' preset, {mnist_iterations:,} "
                 "iterations). "
                 + ("A GPU is here: the full setting." if mnist_preset == "mnist" else
                    "No GPU here: the quick setting, about "
                    f"{mnist_iterations * CPU_SECONDS_PER_MNIST_ITERATION / 60:.0f} minutes on "
                    "two CPU cores (about half a second per iteration); the full 'mnist' preset is "
                    "for a GPU.")
                 + " The Train page times a few iterations and shows its estimate before you "
                 "start."):  # fmt: skip
        state.set_data_choice(state.DataChoice(source="mnist", display_name="mnist",
                                               max_rows=5000))
        state.set_train_choice(state.TrainChoice(
            preset_name=mnist_preset, base_preset=mnist_preset, config=preset(mnist_preset),
            baselines=("mean",),
        ))  # fmt: skip
        state.forget_widgets("train")
        state.forget_widgets("data")
        st.switch_page("pages/train.py")
    training = runtime.snapshot(state.train_job_id())
    training = training is not None and not training.done
    if st.button("Explore a trained MNIST model", width="stretch", disabled=training,
                 key=state.widget_key(PAGE, "explore_mnist"),
                 help="A training job of this session is running: stop it on the Train page "
                 "first, or wait for it." if training else "No training: load the MNIST model "
                 "that ships with HexaGAN Studio (trained on the official training images) "
                 "in a few seconds, and see its samples and hidden space."):  # fmt: skip
        with st.spinner("Loading the trained MNIST model and real digits to show it on…"):
            job_id = runtime.start_exploring_mnist()
            loaded = runtime.job_manager().wait(job_id, timeout=components.LOAD_WAIT_S)
        if loaded.result is not None:
            if state.train_job_id():  # one model per session: free the previous one
                runtime.job_manager().forget(state.train_job_id())
            state.set_train_job_id(job_id)
            st.switch_page("pages/samples.py")
        runtime.job_manager().forget(job_id)
        st.error(components.escape_markdown(
            f"Could not load the trained MNIST model: {loaded.error or 'it took too long.'}"
        ))  # fmt: skip
    st.caption("Or go step by step: **1 Data** → **2 Train** → **3 Explore**. "
               "**4 Teach** runs the missing-rate study for a class.")
