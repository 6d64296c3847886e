#!/usr/bin/env bash
# mpirun-ranks.sh "MPIRUN words": how many ranks a bench section ran on, for
# RESULTS.md: "1 process" when MPIRUN is empty, "N ranks" from its -np / -n /
# --np / --ntasks N, else "mpirun's default ranks" (one per slot of its hosts).
set -u
words=(${1:-})
[ ${#words[@]} -eq 0 ] && { echo "1 process"; exit 0; }
for ((i = 0; i < ${#words[@]}; i++)); do
  case ${words[$i]} in
    -np|-n|--np|-c) n=${words[$((i + 1))]:-}; [[ $n =~ ^[0-9]+$ ]] && { echo "$n ranks"; exit 0; } ;;
    --ntasks) n=${words[$((i + 1))]:-}; [[ $n =~ ^[0-9]+$ ]] && { echo "$n ranks"; exit 0; } ;;
    --np=*|-np=*|--ntasks=*) echo "${words[$i]#*=} ranks"; exit 0 ;;
  esac
done
echo "mpirun's default ranks"
