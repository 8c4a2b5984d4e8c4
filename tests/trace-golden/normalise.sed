# What differs between runs of trace-calls: ports the kernel chose,
# addresses of the program's buffers, the directory it was given (DIR).
s/htons([0-9][0-9][0-9][0-9][0-9]*)/htons(PORT)/g
s/0x7ff[0-9a-f]*/0xADDR/g
s|"[^"]*/d\.sock"|"DIR/d.sock"|g
s|"[^"]*/none\.sock"|"DIR/none.sock"|g
