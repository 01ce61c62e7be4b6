import subprocess
import sys


def test_importing_the_package_loads_nothing_heavy():
    code = (
        "import sys, triage, triage.cli;"
        "heavy = [m for m in ('jieba', 'sklearn', 'flask', 'sqlalchemy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
