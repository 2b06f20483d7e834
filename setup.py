"""Packaging for chatterbox-flash, driven by `settings.ini` (nbdev 2 layout).

chatterbox's own modules (S3Gen, the voice encoder, the tokenizer) come from
`videopython-chatterbox`, pinned exactly: the same `chatterbox` import package as
chatterbox-tts 0.1.7 (checked file by file in tests/test_chatterbox_modules.py)
without chatterbox-tts's torch 2.6 and gradio pins, so one `pip install` resolves."""
from configparser import ConfigParser
import os, setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

def reqs(key): return cfg.get(key, '').split()

# extras: every `extra_<name>` key of settings.ini, plus `dev`
extras = {k[len('extra_'):]: reqs(k) for k in cfg if k.startswith('extra_')}
extras['dev'] = reqs('dev_requirements')
extras['all'] = sorted({r for v in extras.values() for r in v})

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    license='MIT', author=cfg['author'], author_email=cfg['author_email'],
    url=cfg['git_url'], python_requires='>=' + cfg['min_python'],
    packages=setuptools.find_packages(include=['chatterbox_flash', 'chatterbox_flash.*']),
    include_package_data=True, package_data={'chatterbox_flash': ['assets/*']},
    install_requires=reqs('requirements'), extras_require=extras,
    long_description=open('README.md', encoding='utf-8').read() if os.path.exists('README.md') else '',
    long_description_content_type='text/markdown', zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f'{cfg["lib_path"]}={cfg["lib_path"]}._modidx:d']},
)
