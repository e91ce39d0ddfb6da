# shell.sh N: a shell script that starts many short processes, as configure
# scripts and build recipes do (bench/os.py's "shell" row): N rounds of a pipeline,
# command substitutions, a subshell and applets that busybox runs as new processes.
# Run by busybox ash, in the guest and on the host alike.
n=${1:-100}
i=0
while [ "$i" -lt "$n" ]; do
	echo "round $i" | cat > /dev/null
	i=$(expr "$i" + 1)
	test -n "$i" || exit 1
	(cd / && true)
	word=$(echo "$i" | sed 's/1/one/')
	[ -n "$word" ] || exit 1
done
