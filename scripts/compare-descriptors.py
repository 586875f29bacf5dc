# Compares two buf images (JSON) of the etcd packages: prints what is missing, added or different.
import json,sys
def load(p):
    img=json.load(open(p)); out={}
    for f in img['file']:
        pkg=f.get('package')
        if pkg not in ('etcdserverpb','mvccpb','authpb'): continue
        def msgs(ms,prefix):
            for m in ms:
                name=prefix+'.'+m['name']
                oneofs=[o['name'] for o in m.get('oneofDecl',[])]
                for fl in m.get('field',[]):
                    oi=fl.get('oneofIndex')
                    out[('field',name,fl['name'])]=(fl['number'],fl['type'],fl.get('label'),fl.get('typeName'),oneofs[oi] if oi is not None else None, fl.get('jsonName'))
                for e in m.get('enumType',[]):
                    for v in e['value']: out[('enum',name+'.'+e['name'],v['name'])]=v.get('number',0)
                msgs(m.get('nestedType',[]),name)
                out[('msg',name,'')]=True
        msgs(f.get('messageType',[]),pkg)
        for e in f.get('enumType',[]):
            for v in e['value']: out[('enum',pkg+'.'+e['name'],v['name'])]=v.get('number',0)
        for s in f.get('service',[]):
            for m in s['method']:
                out[('rpc',pkg+'.'+s['name'],m['name'])]=(m['inputType'],m['outputType'],m.get('clientStreaming',False),m.get('serverStreaming',False))
    return out
a=load(sys.argv[1]); b=load(sys.argv[2])
for k in sorted(set(a)|set(b), key=str):
    if k not in b: print('MISSING in ours',k,a[k])
    elif k not in a: print('ADDED in ours',k,b[k])
    elif a[k]!=b[k]: print('DIFF',k,a[k],b[k])
print(len(a),len(b), 'rpcs ours:', sum(1 for k in b if k[0]=='rpc'))
