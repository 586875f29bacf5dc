# Prints an etcd .proto without its grpc-gateway and OpenAPI options (and their imports): they only
# describe the JSON gateway, change nothing on the gRPC wire, and need googleapis to compile.
import re
import sys

src = open(sys.argv[1]).read()
src = re.sub(r'import "(google/api/annotations|protoc-gen-openapiv2/options/annotations)\.proto";\n', "", src)
option = re.compile(r"option \((google\.api\.http|grpc\.gateway\.protoc_gen_openapiv2\.options\.[a-z0-9_]+)\)\s*=\s*\{")
out, i = [], 0
while True:
    m = option.search(src, i)
    if not m:
        out.append(src[i:])
        break
    out.append(src[i : m.start()])
    j, depth = m.end(), 1
    while depth:
        depth += {"{": 1, "}": -1}.get(src[j], 0)
        j += 1
    while src[j] in " \t\n":
        j += 1
    if src[j] == ";":
        j += 1
    i = j
sys.stdout.write("".join(out))
